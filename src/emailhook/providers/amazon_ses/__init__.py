"""Amazon SES: its webhook side (``webhook.py``) and its send side (``send.py``)."""

from emailhook.providers.amazon_ses.send import AmazonSESSend
from emailhook.providers.amazon_ses.webhook import AmazonSES

__all__ = ["AmazonSES", "AmazonSESSend"]
