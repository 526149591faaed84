"""``/webhooks/<provider>``: each request turned into one call of the provider webhooks
service, and its result into JSON. ``POST /webhooks/infobip`` is ``POST /email`` (webhook.py);
``emailhook serve`` answers the POSTs from the webhook front (front.py), the probes here."""

from __future__ import annotations

import orjson
from flask import Blueprint, Response, request
from werkzeug.exceptions import MethodNotAllowed

from emailhook.entrypoints.web.receiving import Target
from emailhook.entrypoints.web.services import current_services
from emailhook.entrypoints.web.webhook import receive

providers = Blueprint("providers", __name__)


@providers.route("/webhooks/<provider>", methods=["GET", "HEAD", "POST"])
def receive_provider(provider: str) -> Response:
    """Accept a provider's webhook body once authenticated and kept: 200; its probes: 200."""
    if request.method == "POST":
        return receive(Target(provider))
    webhooks = current_services().providers
    checked = webhooks.check(provider, request.method)
    if checked is None:
        allowed = ["POST", *sorted(webhooks.provider(provider).check_methods)]
        raise MethodNotAllowed(valid_methods=allowed)
    answer = {"ok": True, "check": checked.description}
    return Response(orjson.dumps(answer), mimetype="application/json")
