"""Postal: its webhook side (``webhook.py``) and its send side (``send.py``)."""

from emailhook.providers.postal.send import PostalSend
from emailhook.providers.postal.webhook import Postal

__all__ = ["Postal", "PostalSend"]
