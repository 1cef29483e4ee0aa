"""Configuration: pydantic schema, the built-in catalog, file locations, loading and validation."""
