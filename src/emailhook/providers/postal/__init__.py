"""Postal: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.postal.webhook import Postal

__all__ = ["Postal"]
