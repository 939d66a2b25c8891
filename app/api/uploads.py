"""Reading uploaded files under the size limit, while the body streams in.

``ERA_RECON_MAX_UPLOAD_MB`` bounds an upload (spec/interfaces.md: larger uploads get
413). A declared ``Content-Length`` over the limit is refused before a byte is read;
otherwise the body is counted chunk by chunk as it arrives and refused the moment it
passes the limit, so a client streaming gigabytes costs us at most the limit. A
multipart body is parsed as it streams (file parts spool to disk past 1 MB); its
envelope may add ``MULTIPART_SLACK`` bytes to the limit.

The web upload form reads its body with the same ``read_form`` (docs/web.md "Upload
size"), bounded by the per-file limit times the files a form may hold.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import FormParser, MultiPartException, MultiPartParser

from app.api.errors import PayloadTooLarge, UnsupportedMediaType
from app.errors import InvalidInput

MULTIPART_SLACK = 64 * 1024
RAW_TYPES = frozenset(
    {"application/edi-x12", "application/edi", "text/plain", "application/octet-stream", ""}
)
MULTIPART = "multipart/form-data"
URLENCODED = "application/x-www-form-urlencoded"


@dataclass(slots=True, frozen=True)
class UploadedFile:
    filename: str | None
    data: bytes


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def too_large(limit: int) -> PayloadTooLarge:
    megabytes = limit // (1024 * 1024)
    return PayloadTooLarge(f"the upload is larger than {megabytes} MB (ERA_RECON_MAX_UPLOAD_MB)")


def _check_declared_length(request: Request, limit: int, refusal: PayloadTooLarge) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise refusal


async def _limited(
    request: Request, limit: int, refusal: PayloadTooLarge
) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise refusal
        yield chunk


async def read_raw(request: Request, *, limit: int) -> bytes:
    """The whole body (at most ``limit`` bytes)."""
    _check_declared_length(request, limit, too_large(limit))
    parts = [chunk async for chunk in _limited(request, limit, too_large(limit))]
    return b"".join(parts)


async def read_form(
    request: Request,
    *,
    limit: int,
    max_files: int,
    max_fields: int,
    refusal: PayloadTooLarge | None = None,
) -> FormData:
    """The form body (multipart, or url-encoded), parsed as it streams: at most
    ``limit`` bytes of parts plus ``MULTIPART_SLACK`` of envelope, else ``refusal`` (by
    default "larger than ``limit``"), raised from the declared ``Content-Length``
    before a byte is read or the moment the stream passes the bound. A body of another
    type is no form: an empty one, its body unread (as Starlette's ``request.form()``).
    The caller closes the form (multipart files spool to disk past 1 MB)."""
    kind = media_type(request)
    if kind not in (MULTIPART, URLENCODED):
        return FormData()
    refusal = refusal or too_large(limit)
    _check_declared_length(request, limit + MULTIPART_SLACK, refusal)
    stream = _limited(request, limit + MULTIPART_SLACK, refusal)
    parser: MultiPartParser | FormParser
    if kind == MULTIPART:
        parser = MultiPartParser(
            request.headers, stream, max_files=max_files, max_fields=max_fields
        )
    else:
        parser = FormParser(request.headers, stream, max_fields=max_fields)
    try:
        return await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput(f"the multipart body cannot be read: {exc.message}") from None


async def read_files(request: Request, *, limit: int, max_files: int = 100) -> list[UploadedFile]:
    """The file parts of a multipart body, each with its name (at most ``limit``
    bytes of files, plus the envelope)."""
    form = await read_form(request, limit=limit, max_files=max_files, max_fields=100)
    files: list[UploadedFile] = []
    try:
        for field_name, value in form.multi_items():
            if isinstance(value, UploadFile):
                files.append(UploadedFile(value.filename or field_name, await value.read()))
    finally:
        await form.close()
    return files


async def read_one_file(
    request: Request, *, limit: int, field: str = "file", filename: str | None = None
) -> UploadedFile:
    """One file: the raw body (``application/edi-x12``, ``text/plain``,
    ``application/octet-stream``) or the multipart field ``field``."""
    kind = media_type(request)
    if kind == MULTIPART:
        form = await read_form(request, limit=limit, max_files=1, max_fields=20)
        try:
            value = form.get(field)
            if not isinstance(value, UploadFile):
                raise InvalidInput(f"the multipart body has no file field {field!r}")
            data = await value.read()
            return UploadedFile(filename or value.filename, data)
        finally:
            await form.close()
    if kind not in RAW_TYPES:
        raise UnsupportedMediaType(
            f"send the 835 as application/edi-x12, text/plain or application/octet-stream, "
            f"or as the multipart field {field!r}; not {kind}"
        )
    return UploadedFile(filename, await read_raw(request, limit=limit))
