"""The shared vocabulary every layer may import: plain records with no behaviour below them (see docs/architecture.md)."""
