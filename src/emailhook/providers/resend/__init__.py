"""Resend: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.resend.webhook import Resend

__all__ = ["Resend"]
