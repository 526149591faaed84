"""Adapters to the outside world: database, broker."""
