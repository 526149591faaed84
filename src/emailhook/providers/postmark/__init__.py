"""Postmark: its webhook side (``webhook.py``) and its send side (``send.py``)."""

from emailhook.providers.postmark.send import PostmarkSend
from emailhook.providers.postmark.webhook import Postmark

__all__ = ["Postmark", "PostmarkSend"]
