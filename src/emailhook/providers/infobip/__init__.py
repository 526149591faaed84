"""Infobip: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it.
 Its other modules: parsing (reports, tracking, platform events), channels
(other channels' items), blocklist, logs (reconciliation), suppressions (its lists).
"""

from emailhook.providers.infobip.webhook import Infobip

__all__ = ["Infobip"]
