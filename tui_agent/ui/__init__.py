"""The Textual front-end: it talks to the service layer only (enforced: docs/architecture.md, tests/test_layers.py)."""
