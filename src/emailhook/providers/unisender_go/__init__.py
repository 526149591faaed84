"""Unisender Go: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.unisender_go.webhook import UnisenderGo

__all__ = ["UnisenderGo"]
