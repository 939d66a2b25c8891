"""Reading uploaded files under the size limit, while the body streams in.

``ERA_RECON_MAX_UPLOAD_MB`` bounds an upload (spec/interfaces.md: larger uploads get
413). A declared ``Content-Length`` over the limit is refused before a byte is read;
otherwise the body is counted chunk by chunk as it arrives and refused the moment it
passes the limit, so a client streaming gigabytes costs us at most the limit. A
multipart body is parsed as it streams (file parts spool to disk past 1 MB); its
envelope may add ``MULTIPART_SLACK`` bytes to the limit.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from app.api.errors import PayloadTooLarge, UnsupportedMediaType
from app.errors import InvalidInput

MULTIPART_SLACK = 64 * 1024
RAW_TYPES = frozenset(
    {"application/edi-x12", "application/edi", "text/plain", "application/octet-stream", ""}
)
MULTIPART = "multipart/form-data"


@dataclass(slots=True, frozen=True)
class UploadedFile:
    filename: str | None
    data: bytes


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _too_large(limit: int) -> PayloadTooLarge:
    megabytes = limit // (1024 * 1024)
    return PayloadTooLarge(f"the upload is larger than {megabytes} MB (ERA_RECON_MAX_UPLOAD_MB)")


def _check_declared_length(request: Request, limit: int) -> None:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)


async def _limited(request: Request, limit: int, report: int) -> AsyncGenerator[bytes, None]:
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(report)
        yield chunk


async def read_raw(request: Request, *, limit: int) -> bytes:
    """The whole body (at most ``limit`` bytes)."""
    _check_declared_length(request, limit)
    parts = [chunk async for chunk in _limited(request, limit, limit)]
    return b"".join(parts)


async def read_files(request: Request, *, limit: int, max_files: int = 100) -> list[UploadedFile]:
    """The file parts of a multipart body, each with its name (at most ``limit``
    bytes of files, plus the envelope)."""
    _check_declared_length(request, limit + MULTIPART_SLACK)
    parser = MultiPartParser(
        request.headers,
        _limited(request, limit + MULTIPART_SLACK, limit),
        max_files=max_files,
        max_fields=100,
    )
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise InvalidInput(f"the multipart body cannot be read: {exc.message}") from None
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
        _check_declared_length(request, limit + MULTIPART_SLACK)
        parser = MultiPartParser(
            request.headers,
            _limited(request, limit + MULTIPART_SLACK, limit),
            max_files=1,
            max_fields=20,
        )
        try:
            form = await parser.parse()
        except MultiPartException as exc:
            raise InvalidInput(f"the multipart body cannot be read: {exc.message}") from None
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
