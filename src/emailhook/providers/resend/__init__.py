"""Resend: its webhook side (``webhook.py``) and its send side (``send.py``)."""

from emailhook.providers.resend.send import ResendSend
from emailhook.providers.resend.webhook import Resend

__all__ = ["Resend", "ResendSend"]
