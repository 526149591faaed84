"""Mailjet: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.mailjet.webhook import Mailjet

__all__ = ["Mailjet"]
