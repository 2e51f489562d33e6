"""One- and two-character Japanese terms (佐藤, 林) for the free-text search, on PostgreSQL.

The trigram index of migration 0002 cannot serve a term shorter than three characters, so searching 佐藤 (the
commonest search there is) scanned the whole table. Each order now also carries `search_grams`: every single
character and every pair of adjacent characters of the kanji/kana runs in its `search_text` (names and kana,
in practice), kept by a trigger and indexed with GIN, so `search_grams @> ARRAY['佐藤']` is an index lookup.

The column lives outside the Django model on purpose: it is PostgreSQL's own (SQLite has no arrays and does
not need it), no Python writer has to remember it, and the trigger fires only when `search_text` changes, so a
status change or a bulk edit never recomputes it.

Both text indexes also carry the status (btree_gin), so a search narrowed to one status is one GIN lookup that
intersects the term's orders with the status's inside the index, instead of reading every order of the status
or every order of the term. `orders.search.CJK_CLASS` must name the same characters as
the class below; tests/orders/test_search.py checks both against each other.
"""

from django.db import migrations

GRAMS_FUNCTION = r"""
CREATE OR REPLACE FUNCTION orders_search_grams(t text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  grams text[] := '{}';
  run text;
  len int;
BEGIN
  FOREACH run IN ARRAY regexp_split_to_array(
      t, '[^\u3041-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3005\u3006]+') LOOP
    len := char_length(run);
    FOR i IN 1..len LOOP
      grams := grams || substr(run, i, 1);
      IF i < len THEN
        grams := grams || substr(run, i, 2);
      END IF;
    END LOOP;
  END LOOP;
  RETURN grams;
END $$;

CREATE OR REPLACE FUNCTION orders_order_set_search_grams() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW.search_grams := orders_search_grams(coalesce(NEW.search_text, ''));
  RETURN NEW;
END $$;
"""

FORWARD = GRAMS_FUNCTION + r"""
ALTER TABLE orders_order ADD COLUMN IF NOT EXISTS search_grams text[] NOT NULL DEFAULT '{}';
UPDATE orders_order SET search_grams = orders_search_grams(search_text) WHERE search_text <> '';
DROP TRIGGER IF EXISTS orders_order_grams_insert ON orders_order;
CREATE TRIGGER orders_order_grams_insert BEFORE INSERT ON orders_order
  FOR EACH ROW EXECUTE FUNCTION orders_order_set_search_grams();
DROP TRIGGER IF EXISTS orders_order_grams_update ON orders_order;
CREATE TRIGGER orders_order_grams_update BEFORE UPDATE OF search_text ON orders_order
  FOR EACH ROW WHEN (OLD.search_text IS DISTINCT FROM NEW.search_text)
  EXECUTE FUNCTION orders_order_set_search_grams();
CREATE INDEX IF NOT EXISTS order_search_grams ON orders_order USING gin (tenant_id, status_id, search_grams);
DROP INDEX IF EXISTS order_tenant_search_trgm;
CREATE INDEX IF NOT EXISTS order_search_trgm ON orders_order
  USING gin (tenant_id, status_id, search_text gin_trgm_ops);
"""

BACKWARD = """
CREATE INDEX IF NOT EXISTS order_tenant_search_trgm ON orders_order USING gin (tenant_id, search_text gin_trgm_ops);
DROP INDEX IF EXISTS order_search_trgm;
DROP INDEX IF EXISTS order_search_grams;
DROP TRIGGER IF EXISTS orders_order_grams_update ON orders_order;
DROP TRIGGER IF EXISTS orders_order_grams_insert ON orders_order;
ALTER TABLE orders_order DROP COLUMN IF EXISTS search_grams;
DROP FUNCTION IF EXISTS orders_order_set_search_grams();
DROP FUNCTION IF EXISTS orders_search_grams(text);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):

    dependencies = [
        ("orders", "0008_delivery_slot"),
    ]

    operations = [
        migrations.RunPython(forward, backward, elidable=False),
    ]
