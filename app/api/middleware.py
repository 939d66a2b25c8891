"""Security headers on every answer (API, pages, errors), and the refusal of URLs
carrying NUL characters.

The API's Content-Security-Policy forbids everything (``default-src 'none'``): JSON
needs nothing. The web pages set a page-appropriate policy on their own responses;
this middleware never overrides a header a route has already set.
"""

from __future__ import annotations

from app.api.errors import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)

# Swagger UI (/docs) loads its script and styles from a CDN and runs an inline script
DOCS_CSP = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' https://cdn.jsdelivr.net; "
    b"img-src 'self' data: https://fastapi.tiangolo.com; "
    b"connect-src 'self'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, docs_paths: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.docs_paths = docs_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        is_docs = scope.get("path") in self.docs_paths

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS:
                    if name not in present:
                        if is_docs and name == b"content-security-policy":
                            value = DOCS_CSP
                        headers.append((name, value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


NUL_ANSWER = (
    b'{"error":{"code":"invalid_request","message":"the URL contains a NUL character '
    b'(%00), which no path or parameter may hold","details":[]}}'
)


class RejectNulMiddleware:
    """A NUL character (``%00``) in the path or query string answers 422 before any
    route runs: no identifier, filter or search of era-recon may hold one, and
    PostgreSQL text cannot (the query would fail as a server error)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _has_nul(scope):
            await send(
                {
                    "type": "http.response.start",
                    "status": 422,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(NUL_ANSWER)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": NUL_ANSWER})
            return
        await self.app(scope, receive, send)


def _has_nul(scope: Scope) -> bool:
    query: bytes = scope.get("query_string", b"")
    path: str = scope.get("path", "")
    return "\x00" in path or b"\x00" in query or b"%00" in query


class SpreadConnectionsMiddleware:
    """Keeps a keep-alive client from staying on a busy worker process.

    ``era-recon serve --workers N`` runs N processes that accept from one listening
    socket; a connection stays with the process that accepted it for as long as the
    client keeps it open. Clients that connect at about the same time can all land on
    one process, which then serves them all on one core while the others idle (seen
    with 4 keep-alive clients on 2 workers: every upload on one worker, a third
    fewer files per second). So an answer given while this process serves
    ``BUSY_WITH`` other requests or more carries ``Connection: close``: the client's
    next request comes on a new connection, which a less busy process is the likelier
    to accept. Two requests keep a process busy (one computes while the other waits
    on the database; its Python runs on one core at a time): below that, connections
    are kept, as a reconnection costs both sides CPU (closing beside one other
    request made every upload reconnect: the load generator's CPU per upload rose
    by a fifth). Installed only when the app runs
    in several worker processes (``ERA_RECON_WORKERS``)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.in_flight = 0  # this process's requests under way (one event loop)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.in_flight += 1
        counted = True

        async def send_spread(message: Message) -> None:
            nonlocal counted
            if message["type"] == "http.response.start" and counted:
                counted = False
                self.in_flight -= 1
                if self.in_flight >= BUSY_WITH:  # other requests under way here
                    message["headers"] = [*message.get("headers", []), CLOSE_HEADER]
            await send(message)

        try:
            await self.app(scope, receive, send_spread)
        finally:
            if counted:  # no answer started (an error the server answers)
                self.in_flight -= 1


CLOSE_HEADER = (b"connection", b"close")
BUSY_WITH = 2
