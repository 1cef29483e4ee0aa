"""`python -m tui_agent` runs the command-line entry point."""

from tui_agent.cli import main

raise SystemExit(main())
