"""MailerSend: its webhook side (``webhook.py``); its send side goes in ``send.py`` beside it."""

from emailhook.providers.mailersend.webhook import MailerSend

__all__ = ["MailerSend"]
