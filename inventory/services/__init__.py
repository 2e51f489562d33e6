"""The inventory's writes: allocation (the stock check, release, consumption), receiving, adjustments."""
