"""Mailgun: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.mailgun.webhook import Mailgun

__all__ = ["Mailgun"]
