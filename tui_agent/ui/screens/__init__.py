"""Screens, each with its own .tcss beside it; loaded lazily."""
