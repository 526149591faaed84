"""Mailgun: its webhook side (``webhook.py``) and its send side (``send.py``)."""

from emailhook.providers.mailgun.send import MailgunSend
from emailhook.providers.mailgun.webhook import Mailgun

__all__ = ["Mailgun", "MailgunSend"]
