"""Secrets and addresses out of every log record, whoever logs it.

Masking happens when a record is created (a log record factory), not in one handler: records of
werkzeug (its request lines show ``/email/<token>`` and ``?token=``), uvicorn, Celery and any
library reach whatever handler their framework set up, and each of them must already be clean.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit

from emailhook.domain.masking import mask_emails
from emailhook.settings import Settings, secret_values

MASK = "***"

#: a token in the URL, whoever sent it (a guessed or retired token is no one's business either)
_URL_TOKENS = re.compile(r"(/email/)[^/?#\s\"']+|([?&;]token=)[^&#\s\"']*", re.IGNORECASE)
#: an Authorization header value, should a library ever print one
_AUTHORIZATION = re.compile(r"(authorization[\"']?\s*[:=]\s*[\"']?\w+\s+)[^\s\"',}]+", re.I)


class RedactingFilter(logging.Filter):
    """Masks e-mail addresses, URL tokens and the configured secrets in a record's text."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add_secrets(self, secrets: Iterable[str]) -> None:
        """Mask these too, from now on (secrets are only ever added: rotation keeps both)."""
        with self._lock:
            self._secrets.update(s for s in secrets if s)
            alternatives = sorted(self._secrets, key=len, reverse=True)
            self._pattern = (
                re.compile("|".join(re.escape(s) for s in alternatives)) if alternatives else None
            )

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret, URL token and e-mail address masked."""
        pattern = self._pattern
        if pattern is not None:
            text = pattern.sub(MASK, text)
        text = _URL_TOKENS.sub(lambda m: (m.group(1) or m.group(2)) + MASK, text)
        text = _AUTHORIZATION.sub(lambda m: m.group(1) + MASK, text)
        return mask_emails(text)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):  # a broken format: the handler reports it
            return True
        record.msg, record.args = self.redact(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


#: the one filter of this process, applied to every record by ``_redacting_factory``
REDACTION = RedactingFilter()
_installed = False
_install_lock = threading.Lock()


def secrets_of(settings: Settings) -> list[str]:
    """Return every secret text of ``settings`` in the spellings a log line could show."""
    plain = []
    for secret in secret_values(settings):
        plain.append(secret)
        user, colon, password = secret.partition(":")
        if colon and user:  # user:password pairs also appear as the password, or base64 (Basic)
            plain += [password, base64.b64encode(secret.encode()).decode()]
        url_password = urlsplit(secret).password if "://" in secret else None
        if url_password:  # a URL's password (EMAILHOOK_SMTP_URL) also appears alone
            plain += [url_password, unquote(url_password)]
    for url in (settings.database_url, settings.broker_url):
        url_password = urlsplit(url).password if url else None
        if url_password:
            plain.append(url_password)
    spellings = {form for s in plain for form in (s, quote(s, safe=""), quote_plus(s))}
    return sorted(s for s in spellings if s)


def install_redaction(settings: Settings | None = None) -> None:
    """Mask addresses, URL tokens (and the secrets of ``settings``) in every record from now on."""
    _install_factory()
    if settings is not None:
        REDACTION.add_secrets(secrets_of(settings))


def _install_factory() -> None:
    global _installed
    with _install_lock:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            REDACTION.filter(record)
            return record

        logging.setLogRecordFactory(_redacting_factory)
        _installed = True
