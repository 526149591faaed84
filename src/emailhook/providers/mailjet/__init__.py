"""Mailjet: its webhook side (``webhook.py``) and its send side (``send.py``)."""

from emailhook.providers.mailjet.send import MailjetSend
from emailhook.providers.mailjet.webhook import Mailjet

__all__ = ["Mailjet", "MailjetSend"]
