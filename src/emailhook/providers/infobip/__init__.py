"""Infobip: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it.
Its other modules: auth (who may post), body (the checks before the 200), parsing (reports,
tracking, platform events), mapping (its words -> the vocabulary), channels (other channels'
items), blocklist, logs (reconciliation), suppressions (its lists).
"""

from emailhook.providers.infobip.webhook import Infobip

__all__ = ["Infobip"]
