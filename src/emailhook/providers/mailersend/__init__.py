"""MailerSend: its webhook side (``webhook.py``); its send side (``send.py``)."""

from emailhook.providers.mailersend.send import MailerSendSend
from emailhook.providers.mailersend.webhook import MailerSend

__all__ = ["MailerSend", "MailerSendSend"]
