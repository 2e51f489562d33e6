"""Order views, one module per screen: listing, detail (with order_move), entry, export, bulk."""
