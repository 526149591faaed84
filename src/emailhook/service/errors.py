"""Errors the service layer raises; ``entrypoints.errors`` maps each to an HTTP answer."""

from __future__ import annotations


class InvalidBodyError(ValueError):
    """The request body cannot be accepted as sent (400): retrying it will not help."""


class StorageUnavailableError(RuntimeError):
    """The body could not be kept durably right now (503): the sender should retry."""


class UnauthorizedError(PermissionError):
    """The sender did not prove who it is (401). Carries no detail that would help guessing."""

    def __init__(self, *, challenge_basic: bool = False) -> None:
        super().__init__("authentication required")
        #: whether the answer should invite HTTP Basic credentials
        self.challenge_basic = challenge_basic


class ConfigurationError(RuntimeError):
    """The service is configured in a way it refuses to run with (e.g. production, no auth)."""


class InvalidQueryError(ValueError):
    """A query parameter cannot be understood (400): the message says which and why."""


class BodyNotFoundError(LookupError):
    """A body named for a replay is not in the inbox (404): pruned past the retention
    (``EMAILHOOK_INBOX_RETENTION_DAYS``) or never accepted. The message names the ids."""


class OperatorUnauthorizedError(PermissionError):
    """A dashboard request without valid operator credentials (401, HTTP Basic challenge)."""


class ForbiddenError(PermissionError):
    """A request that is refused whoever sends it (403): e.g. a replay posted by another site."""


class FeatureDisabledError(LookupError):
    """A part of the service switched off by configuration (404, saying how to turn it on)."""


class UpstreamUnavailableError(RuntimeError):
    """A provider's host this service must reach could not be reached (an SNS subscription
    confirmation): 503, so that the provider sends the message again."""


class InvalidRequestError(ValueError):
    """A request of the send API that cannot be accepted (400); ``errors`` maps each field to
    its problems. Nothing was kept."""

    def __init__(self, message: str, errors: dict[str, list[str]]) -> None:
        super().__init__(message)
        self.errors = errors


class SendUnauthorizedError(PermissionError):
    """A send API request without a valid ``Authorization: Bearer`` key (401)."""


class NotFoundError(LookupError):
    """What the request names does not exist (404): a message, a token."""


class ConflictError(RuntimeError):
    """The request conflicts with the state of what it names (409): a message already sent,
    a request with the same ``Idempotency-Key`` still in flight."""


class IdempotencyMismatchError(ValueError):
    """An ``Idempotency-Key`` reused with another request (422)."""
