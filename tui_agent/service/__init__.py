"""The async service layer: the facade the CLI and the TUI share (no Textual imports here)."""
