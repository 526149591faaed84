"""Operator credentials for the dashboard, and the same-origin rule of its one write."""

from __future__ import annotations

import base64
import logging

import pytest
from pydantic import ValidationError

from emailhook.entrypoints.web.operators import (
    OperatorAuth,
    announce,
    is_loopback,
    require_same_origin,
)
from emailhook.service.errors import (
    FeatureDisabledError,
    ForbiddenError,
    OperatorUnauthorizedError,
)
from emailhook.settings import Settings


def basic(credentials: str) -> str:
    return "Basic " + base64.b64encode(credentials.encode()).decode()


def test_any_configured_operator_is_let_in_and_named() -> None:
    auth = OperatorAuth(["ana:s3cret", "bob:pa:ss"])
    assert auth.verify(basic("ana:s3cret"), remote_addr="10.0.0.1") == "ana"
    assert auth.verify(basic("bob:pa:ss"), remote_addr=None) == "bob"
    assert auth.verify("basic " + basic("ana:s3cret").split()[1], remote_addr=None) == "ana"


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        basic("ana:wrong"),
        basic("ana:s3cret "),
        basic("ana"),
        "Bearer ana:s3cret",
        "Basic not-base64!",
        basic("bob:s3cret"),
    ],
)
def test_anything_else_is_refused_and_logged_without_the_secret(
    header: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    auth = OperatorAuth(["ana:s3cret"])
    with caplog.at_level(logging.WARNING), pytest.raises(OperatorUnauthorizedError):
        auth.verify(header, remote_addr="10.0.0.9")
    assert "operator authentication failed: remote=10.0.0.9" in caplog.text
    assert "s3cret" not in caplog.text


def test_without_operators_the_dashboard_is_open_in_development_only() -> None:
    assert OperatorAuth([]).verify(None, remote_addr=None) is None
    with pytest.raises(FeatureDisabledError, match="EMAILHOOK_OPERATOR_USERS"):
        OperatorAuth([], production=True).verify(basic("a:b"), remote_addr=None)
    assert OperatorAuth(["a:b"], production=True).verify(basic("a:b"), remote_addr=None) == "a"


def test_operator_users_setting_is_a_secret_list_of_user_colon_password(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EMAILHOOK_OPERATOR_USERS", "ana:pw-1xq, bob:t:wo")
    settings = Settings()
    assert [u.get_secret_value() for u in settings.operator_users] == ["ana:pw-1xq", "bob:t:wo"]
    assert "pw-1xq" not in repr(settings)
    for bad in ("ana", "ana:", ":pw"):
        monkeypatch.setenv("EMAILHOOK_OPERATOR_USERS", bad)
        with pytest.raises(ValidationError, match="user:password") as refused:
            Settings()
        assert bad not in str(refused.value).replace("user:password", "")


@pytest.mark.parametrize(
    ("origin", "referer"),
    [
        ("http://127.0.0.1:8000", None),
        (None, "http://127.0.0.1:8000/dashboard/pipeline"),
        ("null", "http://127.0.0.1:8000/dashboard/pipeline"),
    ],
)
def test_a_post_from_this_host_passes(origin: str | None, referer: str | None) -> None:
    require_same_origin(origin, referer, "127.0.0.1:8000")


@pytest.mark.parametrize(
    ("origin", "referer"),
    [
        ("https://evil.example", None),
        ("https://evil.example", "http://127.0.0.1:8000/dashboard/pipeline"),
        (None, "https://evil.example/127.0.0.1:8000"),
        ("http://127.0.0.1:8001", None),
        (None, None),
        ("null", None),
    ],
)
def test_a_post_from_elsewhere_or_nowhere_is_forbidden(
    origin: str | None, referer: str | None
) -> None:
    with pytest.raises(ForbiddenError):
        require_same_origin(origin, referer, "127.0.0.1:8000")


def test_loopback_hosts() -> None:
    assert all(map(is_loopback, ["127.0.0.1", "::1", "[::1]", "localhost", "127.1.2.3"]))
    assert not any(map(is_loopback, ["0.0.0.0", "::", "10.0.0.5", "example.com"]))


def test_an_open_dashboard_on_the_network_is_announced_loudly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="emailhook.operators"):
        announce(Settings(), "127.0.0.1")
        assert "OPEN TO THE NETWORK" not in caplog.text
        announce(Settings(), "0.0.0.0")
        assert "DASHBOARD AND QUERY API OPEN TO THE NETWORK" in caplog.text
        caplog.clear()
        announce(Settings(env="production"), "0.0.0.0")
        assert "dashboard and query API disabled" in caplog.text
        caplog.clear()
        announce(Settings(operator_users="ana:pw"), "0.0.0.0")
        assert "dashboard and query API: 1 operator(s)" in caplog.text
        assert "pw" not in caplog.text.replace("operator(s)", "")
