"""Reading a gateway callback's urlencoded body safely into a flat dict of strings."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from starlette.requests import ClientDisconnect, Request

MAX_BODY_BYTES = 64 * 1024
# A real AT callback has under a dozen fields; anything near this is abuse, not a gateway.
MAX_FIELDS = 100
FORM_MEDIA_TYPE = "application/x-www-form-urlencoded"


class PayloadError(ValueError):
    """A callback body we refuse, with a one-line reason fit for a 4xx response body."""

    def __init__(self, reason: str, *, status_code: int = 400, field: str | None = None) -> None:
        self.reason = " ".join(reason.split())
        self.status_code = status_code
        self.field = field
        super().__init__(self.reason)


async def read_form(request: Request) -> dict[str, str]:
    """Return the urlencoded body as a dict, keeping blank values such as an empty ``text=``.

    A key sent twice is a 400 naming that key, not "last wins": gateways never repeat a key,
    and picking one of two ``from`` values silently would let two parsers disagree on a sender.
    """
    content_type, declared = _form_headers(request.scope["headers"])
    _check_content_type(content_type)
    body = await _read_body(request, declared)
    try:
        return parse_form(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise PayloadError("body is not valid UTF-8") from None


def _form_headers(raw: list[tuple[bytes, bytes]]) -> tuple[str | None, str | None]:
    """Content-Type and Content-Length from the ASGI headers in one pass (the first of each, as
    Starlette's Headers.get finds them; ASGI servers give names in lower case)."""
    content_type = length = None
    for name, value in raw:
        if name == b"content-type" and content_type is None:
            content_type = value.decode("latin-1")
        elif name == b"content-length" and length is None:
            length = value.decode("latin-1")
    return content_type, length


def parse_form(text: str) -> dict[str, str]:
    """An urlencoded body as a dict, read as urllib's parse_qs(keep_blank_values=True,
    max_num_fields=MAX_FIELDS, errors="strict") reads it; a repeated key is a PayloadError.

    parse_qs calls unquote twice per field even when nothing is encoded: on a USSD hop that was
    about a twentieth of the whole hop. Only a part holding `%` or `+` is decoded here, by
    unquote_to_bytes and one strict UTF-8 decode (unquote splits on a regular expression first and took
    twice as long on a USSD path's `%2A`s); a percent-encoded byte that is not UTF-8 raises
    UnicodeDecodeError as parse_qs does.
    """
    if text.count("&") >= MAX_FIELDS:
        raise PayloadError(f"too many form fields (max {MAX_FIELDS})")
    form: dict[str, str] = {}
    for field in text.split("&"):
        if not field:
            continue
        key, _, value = field.partition("=")
        key, value = _decoded(key), _decoded(value)
        if key in form:
            raise PayloadError(f"field {key!r} is repeated", field=key)
        form[key] = value
    return form


def _decoded(part: str) -> str:
    if "%" in part or "+" in part:
        return unquote_to_bytes(part.replace("+", " ")).decode("utf-8")
    return part


def _check_content_type(header: str | None) -> None:
    media_type, *params = (header or "").split(";")
    if media_type.strip().lower() != FORM_MEDIA_TYPE:
        raise PayloadError(f"content type must be {FORM_MEDIA_TYPE}", status_code=415)
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() != "charset":
            continue
        if value.strip().strip('"').lower() not in ("utf-8", "utf8"):
            raise PayloadError("only the utf-8 charset is accepted", status_code=415)


async def _read_body(request: Request, declared: str | None) -> bytes:
    """The body, read from the ASGI messages themselves (Starlette's stream() is an async generator,
    a few microseconds a callback, for the one message a gateway's small body comes in)."""
    if declared is not None:
        if not declared.strip().isdigit():
            raise PayloadError("invalid Content-Length")
        if int(declared) > MAX_BODY_BYTES:
            raise _too_large()
    # Content-Length can be absent (chunked) or lie, so count what actually arrives too.
    chunks: list[bytes] = []
    size = 0
    receive = request.receive
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _too_large() -> PayloadError:
    return PayloadError(f"body larger than {MAX_BODY_BYTES} bytes", status_code=413)
