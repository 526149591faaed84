"""The authentication settings: lists from one variable each, secrets kept out of reprs."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from emailhook.settings import Settings

SECRET_LISTS = {
    "EMAILHOOK_WEBHOOK_TOKENS": "webhook_tokens",
    "EMAILHOOK_SECRET_HEADER_VALUES": "secret_header_values",
    "EMAILHOOK_BEARER_TOKENS": "bearer_tokens",
    "EMAILHOOK_HMAC_SECRETS": "hmac_secrets",
}


def plain(settings: Settings, field: str) -> list[str]:
    return [secret.get_secret_value() for secret in getattr(settings, field)]


@pytest.mark.parametrize(("variable", "field"), SECRET_LISTS.items())
def test_a_comma_separated_variable_gives_a_list_for_rotation(
    variable: str, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, " new-secret , old-secret ,, ")
    assert plain(Settings(), field) == ["new-secret", "old-secret"]


@pytest.mark.parametrize(("variable", "field"), SECRET_LISTS.items())
def test_a_json_array_allows_secrets_with_commas(
    variable: str, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(variable, '["a,b", "c"]')
    assert plain(Settings(), field) == ["a,b", "c"]


@pytest.mark.parametrize(("variable", "field"), SECRET_LISTS.items())
def test_an_unset_or_empty_variable_configures_nothing(
    variable: str, field: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert plain(Settings(), field) == []
    monkeypatch.setenv(variable, "")
    assert plain(Settings(), field) == []


def test_basic_auth_is_a_list_of_user_colon_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAILHOOK_BASIC_AUTH", "infobip:pw1,infobip:p:w:2")
    assert plain(Settings(), "basic_auth") == ["infobip:pw1", "infobip:p:w:2"]


def test_basic_auth_without_a_colon_is_refused_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EMAILHOOK_BASIC_AUTH", "just-a-password-xyz")
    with pytest.raises(ValidationError, match="user:password") as refused:
        Settings()
    assert "just-a-password-xyz" not in str(refused.value)


def test_secrets_do_not_appear_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in [*SECRET_LISTS, "EMAILHOOK_BASIC_AUTH"]:
        monkeypatch.setenv(variable, f"u:{variable.lower()}-value")
    settings = Settings()
    for variable in [*SECRET_LISTS, "EMAILHOOK_BASIC_AUTH"]:
        assert f"{variable.lower()}-value" not in repr(settings)
        assert f"{variable.lower()}-value" not in str(settings.model_dump())


def test_hmac_settings_have_their_documented_defaults() -> None:
    settings = Settings()
    assert (settings.hmac_header, settings.hmac_algorithm, settings.hmac_encoding) == (
        "X-Signature",
        "sha256",
        "hex",
    )
    assert settings.secret_header == "X-Webhook-Secret"
    assert settings.max_json_depth == 32


def test_hmac_algorithm_and_encoding_are_read_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMAILHOOK_HMAC_ALGORITHM", "sha512")
    monkeypatch.setenv("EMAILHOOK_HMAC_ENCODING", "base64")
    monkeypatch.setenv("EMAILHOOK_HMAC_HEADER", "X-Infobip-Signature")
    settings = Settings()
    assert (settings.hmac_algorithm, settings.hmac_encoding, settings.hmac_header) == (
        "sha512",
        "base64",
        "X-Infobip-Signature",
    )
    monkeypatch.setenv("EMAILHOOK_HMAC_ALGORITHM", "crc32")
    with pytest.raises(ValidationError, match="hmac_algorithm"):
        Settings()


@pytest.mark.parametrize("name", ["", "X Signature", "X-Sig:nature", "X-Sig\r\nInjected: 1"])
def test_a_header_name_that_is_not_one_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match="not an HTTP header name"):
        Settings(hmac_header=name)
    with pytest.raises(ValidationError, match="not an HTTP header name"):
        Settings(secret_header=name)
