"""Amazon SES: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.amazon_ses.webhook import AmazonSES

__all__ = ["AmazonSES"]
