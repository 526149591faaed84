"""Postmark: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.postmark.webhook import Postmark

__all__ = ["Postmark"]
