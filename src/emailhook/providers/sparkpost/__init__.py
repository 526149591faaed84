"""SparkPost: its webhook side (``webhook.py``) and its send side (``send.py``)."""

from emailhook.providers.sparkpost.send import SparkPostSend
from emailhook.providers.sparkpost.webhook import SparkPost

__all__ = ["SparkPost", "SparkPostSend"]
