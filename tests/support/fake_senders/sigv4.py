"""AWS Signature Version 4, checked the way AWS checks it, with botocore's own signer.

The ``Authorization`` header is parsed for its shape (``AWS4-HMAC-SHA256 Credential=<key>/
<yyyymmdd>/<region>/<service>/aws4_request, SignedHeaders=..., Signature=<64 hex>``); then, for
a known access key, the canonical request is rebuilt from exactly the signed headers and
botocore's ``SigV4Auth`` computes the signature the client should have sent.

The error codes and messages are the ones AWS's JSON services answer (seen in SDK issues:
aws/aws-sdk#467 and smithy545/aws-apps-scripts#12 for InvalidSignatureException's "The request
signature we calculated does not match..."; the others are AWS-wide, not SES-specific, and not
re-checked against a source here).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from support.fake_senders.core import Request

_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request,\s*SignedHeaders=(?P<signed>[a-z0-9;-]+),\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})"
)
#: how far X-Amz-Date may be from now
SKEW = timedelta(minutes=15)
UNSIGNED = "UNSIGNED-PAYLOAD"


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


def check_signature(
    request: Request, host_url: str, secrets: dict[str, str], region: str, service: str
) -> Refusal | None:
    """None if ``request`` is signed by one of ``secrets`` (access key -> secret key)."""
    header = request.header("Authorization")
    if not header:
        return Refusal(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    found = _AUTHORIZATION.fullmatch(header.strip())
    if found is None:
        return Refusal(
            403,
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'"
            f" parameters. Authorization={header}",
        )
    secret = secrets.get(found["key"])
    if secret is None:
        return Refusal(
            403,
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
        )
    if found["region"] != region or found["service"] != service:
        return Refusal(
            403,
            "InvalidSignatureException",
            f"Credential should be scoped to a valid region and service: {region}/{service}.",
        )
    stamp = request.header("X-Amz-Date") or ""
    try:
        when = datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except ValueError:
        return Refusal(403, "IncompleteSignatureException", "X-Amz-Date is missing or malformed")
    if abs(datetime.now(UTC) - when) > SKEW or stamp[:8] != found["date"]:
        return Refusal(403, "InvalidSignatureException", f"Signature expired: {stamp}")
    declared = request.header("X-Amz-Content-SHA256")
    if declared not in (None, UNSIGNED) and declared != hashlib.sha256(request.body).hexdigest():
        return Refusal(400, "XAmzContentSHA256Mismatch", "The provided payload hash mismatched")
    expected = _signature(
        request, host_url, found["key"], secret, region, service, stamp, found["signed"].split(";")
    )
    if expected is None or not hmac.compare_digest(expected, found["signature"]):
        return Refusal(
            403,
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided."
            " Check your AWS Secret Access Key and signing method. Consult the service"
            " documentation for details.",
        )
    return None


def _signature(
    request: Request,
    host_url: str,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    stamp: str,
    signed: list[str],
) -> str | None:
    if any(name not in request.headers for name in signed) or "host" not in signed:
        return None
    query = "&".join(f"{k}={v}" for k, values in request.query.items() for v in values)
    url = host_url + request.path + (f"?{query}" if query else "")
    headers = {name: request.headers[name] for name in signed}
    aws = AWSRequest(method=request.method, url=url, data=request.body, headers=headers)
    aws.context["timestamp"] = stamp
    token = request.header("X-Amz-Security-Token")
    signer = SigV4Auth(Credentials(access_key, secret_key, token), service, region)
    canonical = signer.canonical_request(aws)
    return str(signer.signature(signer.string_to_sign(aws, canonical), aws))
