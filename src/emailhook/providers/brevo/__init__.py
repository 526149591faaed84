"""Brevo: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.brevo.webhook import Brevo

__all__ = ["Brevo"]
