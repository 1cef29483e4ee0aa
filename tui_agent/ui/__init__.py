"""The Textual front-end: it talks to the service layer only."""
