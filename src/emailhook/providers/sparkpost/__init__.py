"""SparkPost: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.sparkpost.webhook import SparkPost

__all__ = ["SparkPost"]
