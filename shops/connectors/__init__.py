"""One module per mall, one interface (base.Connector): page through the mall from a saved cursor and yield
normalised ImportedOrder values. `connector_for(kind)` finds the class for a mall kind."""

from __future__ import annotations

from .base import Connector

REGISTRY: dict[str, type[Connector]] = {}


def register(cls: type[Connector]) -> type[Connector]:
    REGISTRY[cls.kind] = cls
    return cls


def connector_for(kind: str) -> type[Connector]:
    """The connector class of a mall kind; importing the modules registers them."""
    from . import amazon, rakuten, shopify, yahoo  # noqa: F401  (they register themselves)

    try:
        return REGISTRY[kind]
    except KeyError:
        raise LookupError(f"no connector for mall kind {kind!r}") from None
