"""Every provider this service takes, registered here and nowhere else.

Adding a provider is one module beside this one and one line below.
"""

from __future__ import annotations

from emailhook.providers.base import Provider

#: each provider answers at ``POST /webhooks/<name>`` once one of its ``enabled_by`` is set
PROVIDERS: tuple[type[Provider], ...] = ()
