"""Configuration: the schema (dataclasses pydantic validates), the built-in catalog, file locations, loading,
validation and the start-up cache of a validated config."""
