"""Log lines never show a secret, a URL token or a full e-mail address, whoever logs them."""

from __future__ import annotations

import base64
import logging
import time

import pytest

from emailhook.domain.masking import mask_emails
from emailhook.observability.logs import configure_logging
from emailhook.observability.redaction import RedactingFilter, secrets_of
from emailhook.providers.base import Provider, ProviderSetting
from emailhook.providers.registry import PROVIDERS
from emailhook.settings import Settings, provider_field_name, secret_settings

TOKEN = "url-token-7f3a9c1e5b"
HMAC_KEY = "hmac-key-2d4f6a8c0e"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("to=joao.madero@quite.com.br", "to=j***@quite.com.br"),
        ("a@b.co,c.d@e.org", "a***@b.co,c***@e.org"),
        ("GET /?to=joao%40quite.com.br", "GET /?to=j***@quite.com.br"),
        ("already j***@quite.com.br", "already j***@quite.com.br"),
        ("no address @ here, user@localhost", "no address @ here, user@localhost"),
    ],
)
def test_mask_emails_masks_every_address_in_free_text(text: str, masked: str) -> None:
    assert mask_emails(text) == masked


@pytest.mark.parametrize(
    "text",
    ["a" * 200_000, "a@" * 100_000, "a." * 100_000 + "@", "x@" + "b." * 100_000, "%40" * 70_000],
    ids=["long word", "many @", "long dotted local part", "long domain", "many %40"],
)
def test_masking_a_long_attacker_chosen_line_takes_linear_time(text: str) -> None:
    # A log line can hold a request line or an error message an attacker chose; a regex that
    # backtracks would turn one such line into seconds of CPU (the first version took 11 s
    # for a 30 000-letter word).
    redactor = RedactingFilter()
    redactor.add_secrets(["some-secret-value"])
    started = time.process_time()
    redactor.redact(f"GET /email/{text}?token={text} Authorization: Basic {text} {text}")
    assert time.process_time() - started < 1


def test_filter_masks_configured_secrets_in_every_spelling() -> None:
    redactor = RedactingFilter()
    redactor.add_secrets(["plain-secret", "with/slash+plus"])
    text = "a plain-secret b with/slash+plus c with%2Fslash%2Bplus"
    redactor.add_secrets(secrets_of(Settings(webhook_tokens="with/slash+plus")))
    assert redactor.redact(text) == "a *** b *** c ***"


def test_filter_masks_any_url_token_even_one_it_was_never_told_about() -> None:
    # a guessed or retired token is no one's business either
    redactor = RedactingFilter()
    line = '127.0.0.1 - - "POST /email/guessed-123?token=also-guessed&x=1 HTTP/1.1" 401 -'
    assert redactor.redact(line) == '127.0.0.1 - - "POST /email/***?token=***&x=1 HTTP/1.1" 401 -'


def test_filter_masks_authorization_header_values() -> None:
    redactor = RedactingFilter()
    assert redactor.redact("{'Authorization': 'Basic dTpw'}") == "{'Authorization': 'Basic ***'}"
    assert redactor.redact("authorization: Bearer abc.def") == "authorization: Bearer ***"


def test_basic_credentials_are_masked_as_pair_password_and_base64() -> None:
    secrets = secrets_of(Settings(basic_auth="infobip:pa55-word-x"))
    pair = base64.b64encode(b"infobip:pa55-word-x").decode()
    assert {"infobip:pa55-word-x", "pa55-word-x", pair} <= set(secrets)
    assert "infobip" not in secrets  # a user name is not a secret


def test_passwords_in_database_and_broker_urls_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:db-pass-1@db/emailhook")
    monkeypatch.setenv("CELERY_BROKER_URL", "amqp://app:mq-pass-2@mq//")
    settings = Settings()
    assert {"db-pass-1", "mq-pass-2"} <= set(secrets_of(settings))


@pytest.mark.parametrize(
    "logger_name", ["emailhook.intake", "werkzeug", "celery.app.trace", "uvicorn.error", "uvicorn"]
)
def test_every_record_of_the_process_is_masked_once_logging_is_configured(
    logger_name: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_logging(settings=Settings(webhook_tokens=TOKEN, hmac_secrets=HMAC_KEY))
    monkeypatch.setattr(logging.getLogger("emailhook"), "propagate", True)
    logger = logging.getLogger(logger_name)
    with caplog.at_level(logging.INFO):
        logger.warning("POST /x?secret=%s key=%s to %s", TOKEN, HMAC_KEY, "ana.silva@example.com")
        try:
            raise ValueError(f"boom {TOKEN} for ana.silva@example.com")
        except ValueError:
            logger.exception("failed")
    assert TOKEN not in caplog.text
    assert HMAC_KEY not in caplog.text
    assert "ana.silva@example.com" not in caplog.text
    assert "a***@example.com" in caplog.text
    assert "ValueError: boom *** for a***@example.com" in caplog.text


def test_a_record_with_a_broken_format_is_left_to_the_handler() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "%d items", ("many",), None)
    assert RedactingFilter().filter(record) is True
    assert record.msg == "%d items"


def _is_secret_type(annotation: object) -> bool:
    return "SecretStr" in repr(annotation) or "SecretBytes" in repr(annotation)


def test_every_setting_that_holds_a_secret_is_in_the_registry() -> None:
    # A new secret setting must be marked SecretFor(...): only then is it split into a list,
    # masked in logs and found by the authentication that reads it.
    holding = {n for n, f in Settings.model_fields.items() if _is_secret_type(f.annotation)}
    assert holding == set(secret_settings())


@pytest.mark.parametrize("name", sorted(secret_settings()))
def test_every_registered_secret_is_masked_in_a_log_line(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    value = f"user-{name}:pw-{name}-9f8e7d"  # a user:password pair covers both kinds
    settings = Settings.model_validate({name: value})
    redactor = RedactingFilter()
    redactor.add_secrets(secrets_of(settings))
    encoded = base64.b64encode(value.encode()).decode()
    line = f"seen {value} and pw-{name}-9f8e7d and Basic {encoded}"
    assert redactor.redact(line) == "seen *** and *** and Basic ***"


def test_an_operator_password_is_masked_wherever_a_log_line_shows_it(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_logging(settings=Settings(operator_users="ana:op-password-77c1"))
    # the first configure_logging of a process stops emailhook's records at its own handler;
    # caplog listens on the root logger
    monkeypatch.setattr(logging.getLogger("emailhook"), "propagate", True)
    with caplog.at_level(logging.INFO, logger="emailhook"):
        logging.getLogger("emailhook.test").info("login ana:op-password-77c1 / op-password-77c1")
    # once, or more often where earlier tests of the process left pytest's capture handler on
    # the emailhook logger as well (it then sees the record there and at the root)
    records = [r for r in caplog.records if r.name == "emailhook.test"]
    assert records
    assert all("op-password-77c1" not in record.getMessage() for record in records)


PROVIDER_SECRETS = [
    (provider, setting)
    for provider in PROVIDERS
    for setting in provider.settings
    if setting.kind == "secrets"
]


def test_every_provider_secret_setting_is_in_the_registry() -> None:
    expected = {provider_field_name(p, s) for p, s in PROVIDER_SECRETS if not s.unprefixed}
    assert expected == set(secret_settings("providers"))
    # webhooks: two for Brevo, one for each of the other eleven; sending: Postmark's token,
    # API keys of SendGrid, Resend, Mailgun, Mandrill, Brevo, Postal and SparkPost, the key
    # pairs of Mailjet and Amazon SES (two each), MailerSend's token (Unisender Go sends with
    # its webhook side's API keys)
    assert len(expected) == 26
    # Infobip's keep the names they had before providers: the webhook's own secrets
    infobip = {provider_field_name(p, s) for p, s in PROVIDER_SECRETS if s.unprefixed}
    assert infobip == set(secret_settings("webhook"))
    assert len(infobip) == 5


@pytest.mark.parametrize(
    ("provider", "setting"),
    PROVIDER_SECRETS,
    ids=[provider_field_name(p, s) for p, s in PROVIDER_SECRETS],
)
def test_every_provider_secret_from_its_variable_is_masked_in_a_log_line(
    provider: type[Provider], setting: ProviderSetting, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = f"u1:{provider.name}-old-5e4d", f"u2:{provider.name}-new-3c2b"
    monkeypatch.setenv(setting.variable(provider.name), f"{first},{second}")
    settings = Settings()
    assert settings.provider_values(provider.name)[setting.name] == (first, second)
    redactor = RedactingFilter()
    redactor.add_secrets(secrets_of(settings))
    line = f"{provider.name}: {first} {second} {second.partition(':')[2]}"
    assert redactor.redact(line) == f"{provider.name}: *** *** ***"


def test_the_smtp_urls_password_is_masked_alone_too() -> None:
    settings = Settings(smtp_url="smtp://relay:pw%2Fsmtp-41a9@relay.example.com:587")
    assert secret_settings()["smtp_url"] == "send"
    redactor = RedactingFilter()
    redactor.add_secrets(secrets_of(settings))
    line = "smtp://relay:pw%2Fsmtp-41a9@relay.example.com:587 pw/smtp-41a9 pw%2Fsmtp-41a9"
    assert redactor.redact(line) == "*** *** ***"
