"""SMTP: a send side only (any relay: STARTTLS or implicit TLS, AUTH); no webhook side, a
generic relay reports nothing back."""

from emailhook.providers.smtp.send import SmtpSend

__all__ = ["SmtpSend"]
