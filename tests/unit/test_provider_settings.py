"""Provider settings come from EMAILHOOK_<PROVIDER>_<SETTING>, typed by kind, read by Settings."""

from __future__ import annotations

import inspect
import re
import sys

import pytest
from pydantic import ValidationError

from emailhook.providers.registry import BY_NAME, PROVIDERS, default_values
from emailhook.settings import Settings


def test_every_provider_is_registered_once_infobip_first() -> None:
    names = [provider.name for provider in PROVIDERS]
    assert names[0] == "infobip"
    assert len(names) == len(set(names)) == 13


def test_each_kind_is_read_from_its_variable_and_typed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAILHOOK_AMAZON_SES_TOPIC_ARNS", '["arn:aws:sns:a:1:t1", "arn:b"]')
    monkeypatch.setenv("EMAILHOOK_AMAZON_SES_CERT_URL_PATTERN", r"^http://127\.0\.0\.1:\d+/")
    monkeypatch.setenv("EMAILHOOK_SENDGRID_PUBLIC_KEYS", " key-one , key-two ,")
    monkeypatch.setenv("EMAILHOOK_SENDGRID_MAX_AGE_SECONDS", "42.5")
    settings = Settings()
    assert settings.provider_values("amazon_ses") == {
        "topic_arns": ("arn:aws:sns:a:1:t1", "arn:b"),
        "cert_url_pattern": r"^http://127\.0\.0\.1:\d+/",
        "basic_auth": (),
        # its send side's
        "access_key_id": (),
        "secret_access_key": (),
        "region": "us-east-1",
        "configuration_set": None,
        "api_url": None,
        "send_rate": 14.0,
    }
    assert settings.provider_values("sendgrid") == {
        "public_keys": ("key-one", "key-two"),
        "max_age_seconds": 42.5,
        "api_key": (),
        "api_url": "https://api.sendgrid.com",
        "send_rate": 10.0,
    }


def test_a_missing_setting_takes_the_providers_default() -> None:
    values = Settings().provider_values("mailgun")
    assert values == {
        "signing_keys": (),
        "max_age_seconds": 300.0,
        # its send side's
        "api_key": (),
        "domain": None,
        "api_url": "https://api.mailgun.net",
        "send_rate": 10.0,
    }


def test_a_provider_is_enabled_by_any_one_of_its_enabling_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not Settings().provider_enabled("brevo")
    monkeypatch.setenv("EMAILHOOK_BREVO_BEARER_TOKENS", "tok-1")
    assert Settings().provider_enabled("brevo")
    # a setting that is not in enabled_by does not enable it
    monkeypatch.setenv("EMAILHOOK_SENDGRID_MAX_AGE_SECONDS", "60")
    assert not Settings().provider_enabled("sendgrid")


def test_infobip_is_always_enabled_and_the_others_are_not_by_default() -> None:
    settings = Settings()
    assert [name for name in BY_NAME if settings.provider_enabled(name)] == ["infobip"]


def test_a_refused_number_does_not_print_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAILHOOK_RESEND_MAX_AGE_SECONDS", "-5")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "resend_max_age_seconds" in str(refused.value)


def test_infobips_settings_keep_their_names_and_defaults_from_before_providers() -> None:
    infobip = BY_NAME["infobip"]
    variables = [setting.variable("infobip") for setting in infobip.settings]
    assert "EMAILHOOK_WEBHOOK_TOKENS" in variables
    assert "EMAILHOOK_HMAC_SECRETS" in variables
    assert all(not v.startswith("EMAILHOOK_INFOBIP_") for v in variables)
    # the provider's defaults (what the worker parses with) are the settings' defaults
    assert Settings().provider_values("infobip") == default_values(infobip)


def test_infobips_settings_reach_its_authentication(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAILHOOK_WEBHOOK_TOKENS", "tok-old,tok-new")
    monkeypatch.setenv("EMAILHOOK_HMAC_HEADER", "X-Infobip-Signature")
    values = Settings().provider_values("infobip")
    assert values["webhook_tokens"] == ("tok-old", "tok-new")
    assert values["hmac_header"] == "X-Infobip-Signature"
    assert BY_NAME["infobip"](values).auth.methods == ("url_token",)  # type: ignore[attr-defined]


def test_the_url_as_called_is_built_for_exactly_the_providers_that_read_it() -> None:
    """The webhook paths build ``WebhookRequest.url`` only for a provider whose ``reads_url``
    is set: a provider reading it without the flag would see an empty URL."""
    readers = {
        provider.name
        for provider in PROVIDERS
        if re.search(r"\brequest\.url\b", inspect.getsource(sys.modules[provider.__module__]))
    }
    assert readers == {provider.name for provider in PROVIDERS if provider.reads_url}
    assert readers == {"mandrill"}
