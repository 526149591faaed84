"""Mandrill: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.mandrill.webhook import Mandrill

__all__ = ["Mandrill"]
