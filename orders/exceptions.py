class StageMoveRefused(Exception):
    """A move the lifecycle forbids; the message is the reason shown to the operator."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class StaleOrder(Exception):
    """The order changed since the operator loaded it (optimistic locking)."""
