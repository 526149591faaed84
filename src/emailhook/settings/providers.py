"""Every provider's settings as fields of Settings: ``EMAILHOOK_<PROVIDER>_<SETTING>``, typed
by the kind each provider module declares."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, PositiveFloat, create_model
from pydantic_settings import BaseSettings

from emailhook.providers.base import Provider, ProviderSetting
from emailhook.providers.registry import PROVIDERS
from emailhook.settings.types import ProviderSecrets, TextList


def _provider_field(setting: ProviderSetting) -> tuple[Any, Any]:
    """Return the (type, field) of one provider setting, typed by its kind."""
    if setting.kind == "secrets":
        return ProviderSecrets, Field(default=(), description=setting.help)
    if setting.kind == "texts":
        return TextList, Field(default=(), description=setting.help)
    if setting.kind == "number":
        return PositiveFloat | None, Field(default=setting.default, description=setting.help)
    return str | None, Field(default=setting.default, description=setting.help)


def provider_field_name(provider: type[Provider], setting: ProviderSetting) -> str:
    """Return the Settings field of a provider's setting (its variable: EMAILHOOK_<field>)."""
    return setting.name if setting.unprefixed else f"{provider.name}_{setting.name}"


#: every provider's settings as fields of Settings, named ``<provider>_<setting>`` so that the
#: one env source reads ``EMAILHOOK_<PROVIDER>_<SETTING>`` and validates them like the rest
#: (an ``unprefixed`` one is declared, typed and checked, among the service's own settings)
PROVIDER_FIELDS: dict[str, tuple[Any, Any]] = {
    provider_field_name(provider, setting): _provider_field(setting)
    for provider in PROVIDERS
    for setting in provider.settings
    if not setting.unprefixed
}
#: settings read as lists from one variable (``a,b`` or a JSON array)
TEXT_LISTS = frozenset(
    provider_field_name(provider, setting)
    for provider in PROVIDERS
    for setting in provider.settings
    if setting.kind == "texts" and not setting.unprefixed
)

if TYPE_CHECKING:
    WithProviders = BaseSettings
else:
    WithProviders = create_model("WithProviders", __base__=BaseSettings, **PROVIDER_FIELDS)
