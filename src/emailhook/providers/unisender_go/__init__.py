"""Unisender Go: its webhook side (``webhook.py``); its send side (``send.py``)."""

from emailhook.providers.unisender_go.send import UnisenderGoSend
from emailhook.providers.unisender_go.webhook import UnisenderGo

__all__ = ["UnisenderGo", "UnisenderGoSend"]
