"""A send request into its messages: one per recipient, placeholders rendered, metadata merged."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from emailhook.domain.sending.message import OutgoingMessage, SendRequest, new_public_ids
from emailhook.domain.sending.placeholders import render


def expand(
    request: SendRequest,
    *,
    extra_headers: Callable[[str, SendRequest], Mapping[str, str]] = lambda _id, _r: {},
    new_id: Callable[[], str] | None = None,
    rendered: bool = True,
) -> list[OutgoingMessage]:
    """Return one message per recipient. ``{{name}}`` in subject, text and html is replaced
    from the recipient's merge data, then the request's global data (a provider template gets
    both as its placeholders instead); the recipient's metadata overrides the request's key by
    key; ``extra_headers(public_id, request)`` adds headers (List-Unsubscribe); ``new_id``
    makes each message's id (default: ``new_public_ids``, all at once). ``rendered`` False:
    the placeholders are left for the reader (a campaign's messages, rendered when sent:
    ``campaign_message.whole``)."""
    messages = []
    make_id = new_id or iter(new_public_ids(len(request.to))).__next__
    for recipient in request.to:
        public_id = make_id()
        data = (recipient.merge_data, request.merge_global_data)
        as_written = request.template_id is not None or not rendered
        messages.append(
            OutgoingMessage(
                public_id=public_id,
                from_email=request.from_email,
                to=recipient,
                subject=request.subject if as_written else render(request.subject, *data),
                text=request.text if as_written else render(request.text, *data),
                html=request.html if as_written else render(request.html, *data),
                template_id=request.template_id,
                reply_to=request.reply_to,
                headers={**request.headers, **extra_headers(public_id, request)},
                attachments=request.attachments,
                tags=request.tags,
                metadata={**request.metadata, **recipient.metadata},
                merge_data={**request.merge_global_data, **recipient.merge_data},
                track_opens=request.track_opens,
                track_clicks=request.track_clicks,
                send_at=request.send_at,
                category=request.category,
            )
        )
    return messages
