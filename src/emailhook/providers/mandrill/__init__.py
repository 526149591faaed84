"""Mandrill: its webhook side (``webhook.py``) and its send side (``send.py``)."""

from emailhook.providers.mandrill.send import MandrillSend
from emailhook.providers.mandrill.webhook import Mandrill

__all__ = ["Mandrill", "MandrillSend"]
