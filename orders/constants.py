"""The fixed lifecycle the code can trust, under the tenant's own two-level statuses."""

from django.db import models
from django.utils.translation import gettext_lazy as _

# The orderer's (注文者) and the recipient's (送付先) fields of an order: who a person is and where they live.
# The editable fields, the import's text fields and the personal data the retention erases all start here.
PARTY_FIELDS: tuple[str, ...] = (
    "orderer_name",
    "orderer_kana",
    "orderer_email",
    "orderer_phone",
    "orderer_postal_code",
    "orderer_prefecture",
    "orderer_city",
    "orderer_address1",
    "orderer_address2",
    "dest_name",
    "dest_kana",
    "dest_company",
    "dest_phone",
    "dest_postal_code",
    "dest_prefecture",
    "dest_city",
    "dest_address1",
    "dest_address2",
)


class Stage(models.TextChoices):
    NEW = "new", _("New")
    STOCK_CHECKED = "stock_checked", _("Stock checked")
    SHORTAGE = "shortage", _("Shortage")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    PAID = "paid", _("Paid")
    READY_TO_SHIP = "ready_to_ship", _("Ready to ship")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed (sale)")
    CANCELLED = "cancelled", _("Cancelled")


S = Stage

# Where an order may go from each stage. Moves inside a stage (between its sub-statuses) are always allowed.
# - cancel from anything before shipped; a cancelled order can be reinstated as new (a mistaken cancel);
# - nothing leaves completed (the sale is booked); shipped only goes on to completed;
# - before shipping, steps may be skipped (a credit-card order goes new → paid) and taken back
#   (a payment recorded by mistake goes paid → awaiting payment).
TRANSITIONS: dict[Stage, frozenset[Stage]] = {
    S.NEW: frozenset({S.STOCK_CHECKED, S.SHORTAGE, S.AWAITING_PAYMENT, S.PAID, S.READY_TO_SHIP, S.CANCELLED}),
    S.STOCK_CHECKED: frozenset({S.NEW, S.SHORTAGE, S.AWAITING_PAYMENT, S.PAID, S.READY_TO_SHIP, S.CANCELLED}),
    S.SHORTAGE: frozenset({S.NEW, S.STOCK_CHECKED, S.AWAITING_PAYMENT, S.PAID, S.CANCELLED}),
    S.AWAITING_PAYMENT: frozenset({S.NEW, S.STOCK_CHECKED, S.SHORTAGE, S.PAID, S.CANCELLED}),
    S.PAID: frozenset({S.STOCK_CHECKED, S.SHORTAGE, S.AWAITING_PAYMENT, S.READY_TO_SHIP, S.CANCELLED}),
    S.READY_TO_SHIP: frozenset({S.SHORTAGE, S.AWAITING_PAYMENT, S.PAID, S.SHIPPED, S.CANCELLED}),
    S.SHIPPED: frozenset({S.COMPLETED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset({S.NEW}),
}

# The normal forward order, used to tell a move that skips stages (it asks the operator to confirm).
# Shortage sits beside stock checked: both are the outcome of the stock check.
STAGE_RANK: dict[Stage, int] = {
    S.NEW: 0,
    S.STOCK_CHECKED: 1,
    S.SHORTAGE: 1,
    S.AWAITING_PAYMENT: 2,
    S.PAID: 3,
    S.READY_TO_SHIP: 4,
    S.SHIPPED: 5,
    S.COMPLETED: 6,
    S.CANCELLED: 99,
}


def sources_of(target: Stage) -> list[str]:
    return sorted(str(source) for source, targets in TRANSITIONS.items() if target in targets)


def is_allowed(source: str, target: str) -> bool:
    return source == target or Stage(target) in TRANSITIONS[Stage(source)]


def skips_stages(source: str, target: str) -> bool:
    """True for a forward move that jumps over a stage (new → ready to ship, say)."""
    if Stage(target) == S.CANCELLED or Stage(source) == S.CANCELLED:
        return False
    return STAGE_RANK[Stage(target)] - STAGE_RANK[Stage(source)] > 1


def refusal_reason(source: str, target: str) -> str:
    """A reason an operator can act on, in their language."""
    src, dst = Stage(source), Stage(target)
    if src == S.COMPLETED:
        return str(_("The order is booked as a sale (%(src)s); it cannot move any more.") % {"src": src.label})
    if src == S.SHIPPED and dst == S.CANCELLED:
        return str(
            _(
                "A shipped order cannot be cancelled; it can only move on to %(completed)s. Note what "
                "happened in its work memo."
            )
            % {"completed": S.COMPLETED.label}
        )
    if src == S.SHIPPED:
        return str(_("A shipped order can only move on to %(completed)s.") % {"completed": S.COMPLETED.label})
    return str(_("An order in “%(src)s” cannot move to “%(dst)s”.") % {"src": src.label, "dst": dst.label})


class ActorKind(models.TextChoices):
    USER = "user", _("User")
    RULE = "rule", _("Rule")
    IMPORT = "import", _("Import")
    SYSTEM = "system", _("System")


class OrderSource(models.TextChoices):
    """Where a new order came from, kept in its "created" event."""

    MANUAL = "manual", _("Phone/FAX entry")
    IMPORT = "import", _("Fetched from the shop")
    CSV = "csv", _("CSV import")
    DEMO = "seed_demo", _("Demo data")


# Names of the system's own actors (Actor.system(name)) as the history shows them.
SYSTEM_ACTOR_LABELS = {
    "system": _("System"),
    "seed_demo": _("Demo data"),
    "retention": _("Personal data retention"),
    "reminder": _("Reminder"),
    "status_mail": _("Mail on entering a status"),
    "mailer": _("Mail"),
    "mall_push": _("Shipment report to the mall"),
    "warehouse": _("Warehouse"),
}


class EventType(models.TextChoices):
    CREATED = "created", _("Order created")
    STATUS_CHANGED = "status_changed", _("Status changed")
    STATUS_REFUSED = "status_refused", _("Status change refused")
    FIELD_CHANGED = "field_changed", _("Field changed")
    MEMO_ADDED = "memo_added", _("Work memo added")
    LABEL_ADDED = "label_added", _("Label added")
    LABEL_REMOVED = "label_removed", _("Label removed")
    LINE_ADDED = "line_added", _("Line added")
    LINE_CHANGED = "line_changed", _("Line changed")
    LINE_REMOVED = "line_removed", _("Line removed")
    TASK_RAISED = "task_raised", _("Task raised")
    TASK_RESOLVED = "task_resolved", _("Task resolved")
    PERSONAL_DATA_ERASED = "personal_data_erased", _("Personal data erased")
    MAIL_SENT = "mail_sent", _("Mail sent")
    MAIL_FAILED = "mail_failed", _("Mail failed")
    MAIL_MARKED = "mail_marked", _("Marked as mailed")
    DOCUMENT_PRINTED = "document_printed", _("Form printed")
    WAYBILL_EXPORTED = "waybill_exported", _("Waybill exported")
    TRACKING_REGISTERED = "tracking_registered", _("Tracking number registered")
    MALL_NOTIFIED = "mall_notified", _("Shipment reported to the mall")
    MALL_NOT_NOTIFIED = "mall_not_notified", _("Mall not told")
    WAREHOUSE_REQUESTED = "warehouse_requested", _("Shipment requested from the warehouse")
    WAREHOUSE_ANSWERED = "warehouse_answered", _("Warehouse answered")
