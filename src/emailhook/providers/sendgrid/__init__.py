"""SendGrid: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.sendgrid.webhook import SendGrid

__all__ = ["SendGrid"]
