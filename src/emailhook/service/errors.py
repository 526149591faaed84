"""Errors the service layer raises; ``entrypoints.errors`` maps each to an HTTP answer."""

from __future__ import annotations


class InvalidBodyError(ValueError):
    """The request body cannot be accepted as sent (400): retrying it will not help."""


class StorageUnavailableError(RuntimeError):
    """The body could not be kept durably right now (503): the sender should retry."""


class InvalidQueryError(ValueError):
    """A query parameter cannot be understood (400): the message says which and why."""
