"""Database triggers that keep `OrderTask.order_status_id` equal to the order's status while the task is open.

Written as SQL so that every writer (the ORM, bulk UPDATEs, COPY, a migration) keeps it, the way the status
counts are kept (orders migration 0003).

SQLite rebuilds a table for most schema changes, and a trigger on one table whose body names the other
makes that rebuild fail ("error in trigger … no such table"). So on SQLite the triggers are dropped before
every migrate (`drop_sqlite_triggers`, pre_migrate) and put back after it (`restore_sqlite_triggers`,
post_migrate), re-filling the column. Within one migrate run, a migration that rebuilds orders_order or
automation_ordertask must come before automation 0003 (which creates them), as orders 0006 does.
"""

from __future__ import annotations

from typing import Any

PG_CREATE = """
CREATE OR REPLACE FUNCTION automation_ordertask_set_status() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.order_status_id IS NULL THEN
    SELECT status_id INTO NEW.order_status_id FROM orders_order WHERE id = NEW.order_id;
  END IF;
  RETURN NEW;
END $$;
CREATE OR REPLACE FUNCTION automation_ordertask_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE automation_ordertask t SET order_status_id = w.status_id
    FROM old_rows o JOIN new_rows w ON w.id = o.id
    WHERE t.order_id = w.id AND o.status_id <> w.status_id AND t.resolved_at IS NULL;
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS automation_ordertask_status_ins ON automation_ordertask;
CREATE TRIGGER automation_ordertask_status_ins BEFORE INSERT ON automation_ordertask
  FOR EACH ROW EXECUTE FUNCTION automation_ordertask_set_status();
DROP TRIGGER IF EXISTS automation_ordertask_follow ON orders_order;
CREATE TRIGGER automation_ordertask_follow AFTER UPDATE ON orders_order
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
  EXECUTE FUNCTION automation_ordertask_follow();
"""
PG_DROP = """
DROP TRIGGER IF EXISTS automation_ordertask_status_ins ON automation_ordertask;
DROP TRIGGER IF EXISTS automation_ordertask_follow ON orders_order;
DROP FUNCTION IF EXISTS automation_ordertask_set_status();
DROP FUNCTION IF EXISTS automation_ordertask_follow();
"""
SQLITE_TRIGGERS = {
    "automation_ordertask_status_ins": """CREATE TRIGGER automation_ordertask_status_ins AFTER INSERT ON
        automation_ordertask WHEN NEW.order_status_id IS NULL BEGIN
        UPDATE automation_ordertask SET order_status_id = (SELECT status_id FROM orders_order WHERE id = NEW.order_id)
        WHERE id = NEW.id; END""",
    "automation_ordertask_follow": """CREATE TRIGGER automation_ordertask_follow AFTER UPDATE OF status_id ON
        orders_order WHEN OLD.status_id <> NEW.status_id BEGIN
        UPDATE automation_ordertask SET order_status_id = NEW.status_id
        WHERE order_id = NEW.id AND resolved_at IS NULL; END""",
}
FILL = """UPDATE automation_ordertask SET order_status_id =
          (SELECT status_id FROM orders_order WHERE orders_order.id = automation_ordertask.order_id)"""


def create(schema_editor: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_CREATE)
    elif vendor == "sqlite":
        for name, sql in SQLITE_TRIGGERS.items():
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(sql)
    else:
        raise NotImplementedError(f"order task triggers for {vendor}")
    schema_editor.execute(FILL)


def drop(schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_DROP)
    else:
        for name in SQLITE_TRIGGERS:
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")


def drop_sqlite_triggers(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """Before a migrate on SQLite: out of the way of table rebuilds (restored after)."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        for name in SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER IF EXISTS {name}")


def restore_sqlite_triggers(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """After a migrate on SQLite: re-create the triggers a table rebuild dropped, then re-fill."""
    from django.db import connections

    connection = connections[using]
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        tables = {row[0] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"orders_order", "automation_ordertask"} <= tables:
            return
        columns = {row[1] for row in cursor.execute("PRAGMA table_info(automation_ordertask)")}
        if "order_status_id" not in columns:  # migrating backwards, or not this far yet
            return
        have = {row[0] for row in cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")}
        missing = [name for name in SQLITE_TRIGGERS if name not in have]
        if not missing:
            return
        for name in missing:
            cursor.execute(SQLITE_TRIGGERS[name])
        cursor.execute(FILL)
