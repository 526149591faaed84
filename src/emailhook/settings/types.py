"""The kinds of values settings hold: lists of secrets (each marked with who reads it), lists
of plain texts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import SecretStr
from pydantic_settings import NoDecode


@dataclass(frozen=True, slots=True)
class SecretFor:
    """Marks a setting as secret, and says who reads it: the one registry of secrets.

    Validation splits every such setting into a list, redaction masks each of its values in
    log lines, and authentication finds its settings by ``reader``
    (:func:`secret_settings`).
    """

    reader: Literal["webhook", "operators", "infobip", "providers", "send"]


#: A list of secrets from one variable: ``a,b`` (or a JSON array when a secret holds a comma).
#: Two entries let a secret rotate without downtime: add the new one, switch, drop the old one.
WebhookSecrets = Annotated[tuple[SecretStr, ...], NoDecode, SecretFor("webhook")]
OperatorSecrets = Annotated[tuple[SecretStr, ...], NoDecode, SecretFor("operators")]
#: Infobip API keys: the first is used; a second may be listed while rotating (both masked)
InfobipSecrets = Annotated[tuple[SecretStr, ...], NoDecode, SecretFor("infobip")]
HmacAlgorithm = Literal["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]
#: a provider's secrets (``kind="secrets"``): lists, masked in logs, read by the provider
ProviderSecrets = Annotated[tuple[SecretStr, ...], NoDecode, SecretFor("providers")]
#: a provider's list of plain texts (``kind="texts"``), e.g. SNS topic ARNs
TextList = Annotated[tuple[str, ...], NoDecode]
#: the send API's keys and the unsubscribe tokens' signing secrets (lists: rotation)
SendSecrets = Annotated[tuple[SecretStr, ...], NoDecode, SecretFor("send")]
