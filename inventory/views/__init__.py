"""Inventory's screens; each module of inventory.views owns its patterns."""
