"""Authentication of the seven prov2 providers, written once and run for each: a request
without credentials, with a wrong one, with one rotated out, or with a body changed after
signing is refused; the current credential and the second of a rotation list are accepted."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from emailhook.providers.base import AuthenticationError, Provider, WebhookRequest
from emailhook.providers.brevo import Brevo
from emailhook.providers.mailersend import MailerSend
from emailhook.providers.mailjet import Mailjet
from emailhook.providers.mandrill import Mandrill
from emailhook.providers.postal import Postal
from emailhook.providers.sparkpost import SparkPost
from emailhook.providers.unisender_go import UnisenderGo
from support.signing_prov2 import CREDENTIALS, Credential, provider_values, sample_request

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CLASSES: dict[str, type[Provider]] = {
    cls.name: cls for cls in (SparkPost, Mailjet, Mandrill, Brevo, Postal, MailerSend, UnisenderGo)
}
#: schemes whose credential covers the body: a body changed after signing must fail
BODY_SIGNED = {"mandrill", "postal", "mailersend", "unisender_go"}

CASES = sorted(CREDENTIALS)


def _setup(case: str, *credentials: Credential) -> tuple[Provider, WebhookRequest]:
    provider_name, setting, _ = CREDENTIALS[case]
    cls = CLASSES[provider_name]
    values = provider_values(cls, **{setting: [c.setting for c in credentials]})
    return cls(values), sample_request(provider_name)


def _credential(case: str) -> Credential:
    return CREDENTIALS[case][2]()


@pytest.mark.parametrize("case", CASES)
def test_the_configured_credential_passes_and_the_body_parses(case: str) -> None:
    current = _credential(case)
    provider, request = _setup(case, current)
    signed = current.attach(request)
    provider.authenticate(signed, NOW)
    assert provider.check_body(signed) >= 1


@pytest.mark.parametrize("case", CASES)
def test_a_request_without_credentials_is_refused(case: str) -> None:
    provider, request = _setup(case, _credential(case))
    with pytest.raises(AuthenticationError):
        provider.authenticate(request, NOW)


@pytest.mark.parametrize("case", CASES)
def test_a_credential_of_someone_else_is_refused(case: str) -> None:
    provider, request = _setup(case, _credential(case))
    with pytest.raises(AuthenticationError):
        provider.authenticate(_credential(case).attach(request), NOW)


@pytest.mark.parametrize("case", CASES)
def test_a_stale_credential_rotated_out_is_refused(case: str) -> None:
    # none of the seven schemes carries a timestamp, so "stale" is a credential that was
    # valid before the rotation finished: the old secret, dropped from the list
    old, new = _credential(case), _credential(case)
    provider_before, request = _setup(case, old, new)
    provider_before.authenticate(old.attach(request), NOW)
    provider_after, _ = _setup(case, new)
    with pytest.raises(AuthenticationError):
        provider_after.authenticate(old.attach(request), NOW)


@pytest.mark.parametrize("case", CASES)
def test_the_second_secret_of_a_rotation_list_passes(case: str) -> None:
    old, new = _credential(case), _credential(case)
    provider, request = _setup(case, old, new)
    provider.authenticate(new.attach(request), NOW)


@pytest.mark.parametrize("case", CASES)
def test_an_empty_credential_list_refuses_everything(case: str) -> None:
    provider, request = _setup(case)
    with pytest.raises(AuthenticationError):
        provider.authenticate(_credential(case).attach(request), NOW)


@pytest.mark.parametrize("case", sorted(c for c in CASES if CREDENTIALS[c][0] in BODY_SIGNED))
def test_a_body_changed_after_signing_is_refused(case: str) -> None:
    current = _credential(case)
    provider, request = _setup(case, current)
    signed = current.attach(request)
    tampered = signed.body.replace(b"example.com", b"example.org", 1)
    assert tampered != signed.body
    with pytest.raises(AuthenticationError):
        provider.authenticate(replace(signed, body=tampered), NOW)
