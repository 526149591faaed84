"""SendGrid: its webhook side (``webhook.py``) and its send side (``send.py``)."""

from emailhook.providers.sendgrid.send import SendGridSend
from emailhook.providers.sendgrid.webhook import SendGrid

__all__ = ["SendGrid", "SendGridSend"]
