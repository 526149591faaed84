"""Local stand-ins for the providers' send APIs (and an SMTP server); see README.md here.

with FakePostmark() as postmark:
    ...  # point the Postmark sender at postmark.base_url, token postmark.server_token
    postmark.ledger.assert_once("emailhook_id")
"""

from support.fake_senders.amazon_ses import FakeAmazonSES
from support.fake_senders.brevo import FakeBrevo
from support.fake_senders.core import Answer, FakeSender, Request
from support.fake_senders.infobip import FakeInfobipSender
from support.fake_senders.ledger import Accepted, Ledger
from support.fake_senders.mailersend import FakeMailerSend
from support.fake_senders.mailgun import FakeMailgun
from support.fake_senders.mailjet import FakeMailjet
from support.fake_senders.mandrill import FakeMandrill
from support.fake_senders.postal import FakePostal
from support.fake_senders.postmark import FakePostmark
from support.fake_senders.resend import FakeResend
from support.fake_senders.sendgrid import FakeSendGrid
from support.fake_senders.sparkpost import FakeSparkPost
from support.fake_senders.unisender_go import FakeUnisenderGo

#: every HTTP fake, by emailhook's provider name
FAKES: dict[str, type[FakeSender]] = {
    fake.name: fake
    for fake in (
        FakeAmazonSES,
        FakeBrevo,
        FakeInfobipSender,
        FakeMailerSend,
        FakeMailgun,
        FakeMailjet,
        FakeMandrill,
        FakePostal,
        FakePostmark,
        FakeResend,
        FakeSendGrid,
        FakeSparkPost,
        FakeUnisenderGo,
    )
}

__all__ = [
    "FAKES",
    "Accepted",
    "Answer",
    "FakeAmazonSES",
    "FakeBrevo",
    "FakeInfobipSender",
    "FakeMailerSend",
    "FakeMailgun",
    "FakeMailjet",
    "FakeMandrill",
    "FakePostal",
    "FakePostmark",
    "FakeResend",
    "FakeSendGrid",
    "FakeSender",
    "FakeSparkPost",
    "FakeUnisenderGo",
    "Ledger",
    "Request",
]
