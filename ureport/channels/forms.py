"""Reading a gateway callback's urlencoded body safely into a flat dict of strings."""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request

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
    _check_content_type(request.headers.get("content-type"))
    body = await _read_body(request)
    try:
        text = body.decode("utf-8")
        pairs = parse_qs(
            text,
            keep_blank_values=True,
            strict_parsing=False,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise PayloadError("body is not valid UTF-8") from None
    except ValueError:
        raise PayloadError(f"too many form fields (max {MAX_FIELDS})") from None
    form: dict[str, str] = {}
    for key, values in pairs.items():
        if len(values) > 1:
            raise PayloadError(f"field {key!r} is repeated", field=key)
        form[key] = values[0]
    return form


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


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise PayloadError("invalid Content-Length")
        if int(declared) > MAX_BODY_BYTES:
            raise _too_large()
    # Content-Length can be absent (chunked) or lie, so count what actually arrives too.
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _too_large()
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large() -> PayloadError:
    return PayloadError(f"body larger than {MAX_BODY_BYTES} bytes", status_code=413)
