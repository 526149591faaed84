"""Local stand-ins for the providers' send APIs (and an SMTP server); see README.md here.

with FakePostmark() as postmark:
    ...  # point the Postmark sender at postmark.base_url, token postmark.server_token
    postmark.ledger.assert_once("emailhook_id")
"""

from support.fake_senders.core import Answer, FakeSender, Request
from support.fake_senders.ledger import Accepted, Ledger
from support.fake_senders.mailgun import FakeMailgun
from support.fake_senders.postmark import FakePostmark
from support.fake_senders.resend import FakeResend
from support.fake_senders.sendgrid import FakeSendGrid

__all__ = [
    "Accepted",
    "Answer",
    "FakeMailgun",
    "FakePostmark",
    "FakeResend",
    "FakeSendGrid",
    "FakeSender",
    "Ledger",
    "Request",
]
