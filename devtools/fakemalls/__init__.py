"""Fake malls: local HTTP servers speaking each mall's real API, for the tests and the demo (`make run`)."""
