"""WebhookAuth: every method lets in its secret, and only its secret, in constant time.

The security tests are written once (good, wrong, missing and rotated secrets) and run for every
method, as anymail does for every provider.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from emailhook.providers.base import AuthenticationError
from emailhook.providers.infobip import auth as auth_module
from emailhook.providers.infobip.auth import Credentials, WebhookAuth
from emailhook.service.errors import ConfigurationError
from emailhook.service.receive.auth import require_authentication
from emailhook.settings import Settings

BODY = b'{"results": [{"messageId": "m-1", "to": "a@example.com"}]}'
OLD, NEW = "old-secret-0a1b2c3d4e5f", "new-secret-9z8y7x6w5v4u"


def basic(user: str, password: str) -> dict[str, str]:
    pair = f"{user}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def signature(key: str, body: bytes, algorithm: str = "sha256") -> str:
    return hmac.new(key.encode(), body, algorithm).hexdigest()


@dataclass(frozen=True)
class Method:
    """How one method is configured with a list of secrets, and how a sender offers one."""

    name: str
    configure: Callable[[list[str]], dict[str, Any]]
    offer: Callable[[str, bytes], Credentials]

    def auth(self, *secrets: str) -> WebhookAuth:
        return WebhookAuth(**self.configure(list(secrets)))


METHODS = [
    Method(
        "url_token",
        lambda s: {"tokens": s},
        lambda secret, body: Credentials(path_token=secret, body=body),
    ),
    Method(
        "url_token",
        lambda s: {"tokens": s},
        lambda secret, body: Credentials(query_token=secret, body=body),
    ),
    Method(
        "basic",
        lambda s: {"basic": [f"infobip:{x}" for x in s]},
        lambda secret, body: Credentials(headers=basic("infobip", secret), body=body),
    ),
    Method(
        "header",
        lambda s: {"header_values": s},
        lambda secret, body: Credentials(headers={"X-Webhook-Secret": secret}, body=body),
    ),
    Method(
        "bearer",
        lambda s: {"bearer": s},
        lambda secret, body: Credentials(headers={"Authorization": f"Bearer {secret}"}, body=body),
    ),
    Method(
        "hmac",
        lambda s: {"hmac_keys": s},
        lambda secret, body: Credentials(
            headers={"X-Signature": signature(secret, body)}, body=body
        ),
    ),
]
METHOD_IDS = ["path_token", "query_token", "basic", "header", "bearer", "hmac"]
each_method = pytest.mark.parametrize("method", METHODS, ids=METHOD_IDS)


# --- the same four tests for every method -------------------------------------------------


@each_method
def test_the_configured_secret_is_accepted_by_its_method(method: Method) -> None:
    verdict = method.auth(NEW).check(method.offer(NEW, BODY))
    assert verdict.accepted
    assert verdict.method == method.name


@each_method
def test_a_wrong_secret_is_rejected(method: Method) -> None:
    for wrong in ["", NEW[:-1], NEW + "x", NEW.upper(), "x" * len(NEW)]:
        assert not method.auth(NEW).check(method.offer(wrong, BODY)).accepted, wrong


@each_method
def test_a_request_without_credentials_is_rejected(method: Method) -> None:
    verdict = method.auth(NEW).check(Credentials(body=BODY))
    assert not verdict.accepted
    assert verdict.method == "none"


@each_method
def test_during_rotation_both_secrets_work_and_a_removed_one_stops_working(
    method: Method,
) -> None:
    rotating = method.auth(OLD, NEW)
    assert rotating.check(method.offer(OLD, BODY)).accepted
    assert rotating.check(method.offer(NEW, BODY)).accepted

    rotated = method.auth(NEW)
    assert rotated.check(method.offer(NEW, BODY)).accepted
    assert not rotated.check(method.offer(OLD, BODY)).accepted


@each_method
def test_verify_raises_unauthorized_and_logs_what_was_tried_but_never_the_secret(
    method: Method, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(AuthenticationError) as raised:
        method.auth(NEW).verify(method.offer(OLD, BODY), remote_addr="203.0.113.9")
    assert raised.value.reason == f"tried={method.name}"  # for the log: the sender gets 401
    (line,) = [r.getMessage() for r in caplog.records if r.name == "emailhook.auth"]
    assert line == f"webhook authentication failed: tried={method.name} remote=203.0.113.9"
    assert OLD not in caplog.text
    assert NEW not in caplog.text


@each_method
def test_every_configured_secret_is_compared_even_after_a_match(
    method: Method, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No early exit: the time taken must not tell which secret (or whether any) came close.
    calls: list[int] = []
    real = hmac.compare_digest

    def counting(a: Any, b: Any) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(auth_module.hmac, "compare_digest", counting)
    secrets = [NEW, OLD, "third-secret-abcdefgh"]
    assert method.auth(*secrets).check(method.offer(NEW, BODY)).accepted
    matched_calls = len(calls)
    calls.clear()
    assert not method.auth(*secrets).check(method.offer("nope", BODY)).accepted
    assert matched_calls == len(calls) >= len(secrets)


# --- across methods -------------------------------------------------------------------------


def test_no_method_configured_lets_everything_in() -> None:
    verdict = WebhookAuth().check(Credentials())
    assert verdict.accepted
    assert verdict.method == "none_configured"
    assert WebhookAuth().methods == ()


def test_several_methods_configured_at_once_each_let_their_own_secret_in() -> None:
    auth = WebhookAuth(
        tokens=["t-secret"], basic=["u:b-secret"], header_values=["h-secret"],
        bearer=["a-secret"], hmac_keys=["k-secret"],
    )  # fmt: skip
    assert auth.methods == ("url_token", "basic", "header", "bearer", "hmac")
    offers = {
        "url_token": Credentials(path_token="t-secret"),
        "basic": Credentials(headers=basic("u", "b-secret")),
        "header": Credentials(headers={"x-webhook-secret": "h-secret"}),
        "bearer": Credentials(headers={"authorization": "Bearer a-secret"}),
        "hmac": Credentials(headers={"X-Signature": signature("k-secret", BODY)}, body=BODY),
    }
    for name, offered in offers.items():
        assert auth.check(offered) == auth_module.Verdict(accepted=True, method=name)


def test_a_secret_of_one_method_does_not_open_another() -> None:
    auth = WebhookAuth(tokens=["shared-looking"], header_values=["header-only"])
    assert not auth.check(Credentials(headers={"Authorization": "Bearer shared-looking"})).accepted
    assert not auth.check(Credentials(headers={"X-Webhook-Secret": "shared-looking"})).accepted
    assert not auth.check(Credentials(path_token="header-only")).accepted


def test_a_rejection_names_every_method_the_request_tried() -> None:
    auth = WebhookAuth(tokens=["t"], hmac_keys=["k"])
    offered = Credentials(
        path_token="guess", headers={"Authorization": "Basic Zm9vOmJhcg==", "X-Signature": "00"}
    )
    assert auth.check(offered).method == "url_token,basic,hmac"


# --- HTTP Basic, bearer and the header ------------------------------------------------------


def test_basic_checks_the_user_name_as_well_as_the_password() -> None:
    auth = WebhookAuth(basic=["infobip:pw-123456"])
    assert auth.check(Credentials(headers=basic("infobip", "pw-123456"))).accepted
    assert not auth.check(Credentials(headers=basic("someone", "pw-123456"))).accepted


def test_basic_password_may_contain_colons_and_non_ascii() -> None:
    auth = WebhookAuth(basic=["infobip:a:b:çã"])
    pair = "infobip:a:b:çã".encode()
    header = {"Authorization": "Basic " + base64.b64encode(pair).decode()}
    assert auth.check(Credentials(headers=header)).accepted


@pytest.mark.parametrize(
    "value",
    ["Basic", "Basic !!!not-base64!!!", "Basic aW5mb2JpcA", "Digest abc", "Basic w6c="],
)
def test_malformed_authorization_is_rejected_without_error(value: str) -> None:
    auth = WebhookAuth(basic=["infobip:pw"], bearer=["tok"])
    assert not auth.check(Credentials(headers={"Authorization": value})).accepted


def test_authorization_schemes_are_case_insensitive() -> None:
    auth = WebhookAuth(basic=["u:p"], bearer=["tok"])
    pair = base64.b64encode(b"u:p").decode()
    assert auth.check(Credentials(headers={"authorization": f"basic {pair}"})).accepted
    assert auth.check(Credentials(headers={"AUTHORIZATION": "BEARER tok"})).accepted


def test_secret_header_name_is_configurable_and_case_insensitive() -> None:
    auth = WebhookAuth(header_name="X-Infobip-Key", header_values=["hv-secret"])
    assert auth.check(Credentials(headers={"x-infobip-key": "hv-secret"})).accepted
    assert not auth.check(Credentials(headers={"X-Webhook-Secret": "hv-secret"})).accepted


def test_non_ascii_secrets_are_compared_without_error() -> None:
    # hmac.compare_digest refuses non-ASCII str: the comparison is made on bytes.
    auth = WebhookAuth(tokens=["tökén-ü"], header_values=["ascii-only"])
    assert auth.check(Credentials(path_token="tökén-ü")).accepted
    assert not auth.check(Credentials(path_token="tökén-u")).accepted
    assert not auth.check(Credentials(path_token="\udcff")).accepted
    assert not auth.check(Credentials(headers={"X-Webhook-Secret": "ascii-onl\u00ff"})).accepted


# --- HMAC -----------------------------------------------------------------------------------

ALGORITHMS = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]


def encoded(digest: bytes, encoding: str) -> str:
    return digest.hex() if encoding == "hex" else base64.b64encode(digest).decode()


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("encoding", ["hex", "base64"])
def test_hmac_of_the_raw_body_is_accepted_for_every_algorithm_and_encoding(
    algorithm: str, encoding: str
) -> None:
    auth = WebhookAuth(
        hmac_keys=["k-1"], hmac_header="X-Infobip-Signature", hmac_algorithm=algorithm,
        hmac_encoding=encoding,
    )  # fmt: skip
    digest = hmac.new(b"k-1", BODY, algorithm).digest()
    good = Credentials(headers={"X-Infobip-Signature": encoded(digest, encoding)}, body=BODY)
    assert auth.check(good).accepted
    tampered = Credentials(headers=good.headers, body=BODY.replace(b"m-1", b"m-2"))
    assert not auth.check(tampered).accepted
    other_algorithm = "sha1" if algorithm != "sha1" else "md5"
    wrong = hmac.new(b"k-1", BODY, other_algorithm).digest()
    offered = Credentials(headers={"X-Infobip-Signature": encoded(wrong, encoding)}, body=BODY)
    assert not auth.check(offered).accepted


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda d: "sha256=" + d.hex(), id="sha256= prefix"),
        pytest.param(lambda d: "HMAC-SHA256=" + d.hex(), id="hmac-sha256= prefix"),
        pytest.param(lambda d: d.hex().upper(), id="upper-case hex"),
        pytest.param(lambda d: f"  {d.hex()}\t", id="surrounding blanks"),
    ],
)
def test_hmac_hex_signature_spellings_are_tolerated(spelling: Callable[[bytes], str]) -> None:
    auth = WebhookAuth(hmac_keys=["k-1"])
    digest = hmac.new(b"k-1", BODY, hashlib.sha256).digest()
    assert auth.check(Credentials(headers={"X-Signature": spelling(digest)}, body=BODY)).accepted


@pytest.mark.parametrize("algorithm", ["md5", "sha1", "sha256", "sha512"])
def test_hmac_base64_padding_url_safe_alphabet_and_prefix_are_tolerated(algorithm: str) -> None:
    auth = WebhookAuth(hmac_keys=["k-1"], hmac_algorithm=algorithm, hmac_encoding="base64")
    for key_body in [BODY, b"{}", b"", b"\xff" * 100]:
        digest = hmac.new(b"k-1", key_body, algorithm).digest()
        standard = base64.b64encode(digest).decode()
        for spelling in [
            standard,
            standard.rstrip("="),
            base64.urlsafe_b64encode(digest).decode(),
            f"{algorithm}={standard}",
        ]:
            offered = Credentials(headers={"X-Signature": spelling}, body=key_body)
            assert auth.check(offered).accepted, spelling


@pytest.mark.parametrize("value", ["", "sha256=", "zz", "=", "not base64 at all", "é" * 64])
def test_hmac_garbage_signature_is_rejected_without_error(value: str) -> None:
    for encoding in ("hex", "base64"):
        auth = WebhookAuth(hmac_keys=["k-1"], hmac_encoding=encoding)
        assert not auth.check(Credentials(headers={"X-Signature": value}, body=b"")).accepted


def test_unknown_hmac_algorithm_fails_when_configured_not_when_a_request_comes() -> None:
    with pytest.raises(ValueError, match="unsupported hash type"):
        WebhookAuth(hmac_keys=["k"], hmac_algorithm="sha-257")


# --- production refuses to start without a method -------------------------------------------


def test_production_without_any_method_refuses_to_start_naming_the_settings() -> None:
    with pytest.raises(ConfigurationError) as refused:
        require_authentication(Settings(env="production"))
    message = str(refused.value)
    assert "EMAILHOOK_ENV=production" in message
    for variable in ("EMAILHOOK_WEBHOOK_TOKENS", "EMAILHOOK_HMAC_SECRETS", "EMAILHOOK_BASIC_AUTH"):
        assert variable in message


@pytest.mark.parametrize(
    "configured",
    [
        {"webhook_tokens": "t"},
        {"basic_auth": "u:p"},
        {"secret_header_values": "h"},
        {"bearer_tokens": "b"},
        {"hmac_secrets": "k"},
    ],
)
def test_production_with_any_one_method_starts(configured: dict[str, str]) -> None:
    auth = require_authentication(Settings(env="production", **configured))  # type: ignore[arg-type]
    assert len(auth.methods) == 1


def test_development_without_any_method_starts_and_lets_everything_in() -> None:
    auth = require_authentication(Settings(env="development"))
    assert auth.check(Credentials()).accepted
