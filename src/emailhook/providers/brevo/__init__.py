"""Brevo: its webhook side (``webhook.py``) and its send side (``send.py``)."""

from emailhook.providers.brevo.send import BrevoSend
from emailhook.providers.brevo.webhook import Brevo

__all__ = ["Brevo", "BrevoSend"]
