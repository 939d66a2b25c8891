"""Sign-in cookie, CSRF token and security headers of the web pages
(spec/interfaces.md "Authentication"; docs/web.md).

The browser holds one signed cookie, ``era_recon_session``: the id of the API key it
signed in with (never the secret) and a random CSRF token. It is signed with
itsdangerous (HMAC-SHA1 over a key derived from ``ERA_RECON_SECRET_KEY``) and carries
its issue time, so a forged or stale cookie is ignored. Every POST form carries the
CSRF token in a hidden field that must equal the cookie's (double submit, with the
cookie signed so an attacker cannot plant their own). The key is looked up again on
every request, so revoking it signs the browser out at once.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.responses import Response

COOKIE_NAME = "era_recon_session"
# a working day: after this the user signs in again
MAX_AGE_SECONDS = 12 * 60 * 60
CSRF_FIELD = "csrf_token"

# Pages: only our own files; no inline script or style (charts are inline SVG with
# presentation attributes, which CSP does not restrict); no framing.
PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # pages show patient names: keep them out of shared caches and the back-forward cache
    "Cache-Control": "no-store",
}


@dataclass(slots=True, frozen=True)
class WebSession:
    """What the cookie holds: the signed-in key's id (None before sign-in) and the
    CSRF token of this browser session."""

    csrf: str
    key_id: uuid.UUID | None = None

    @classmethod
    def anonymous(cls) -> WebSession:
        return cls(csrf=secrets.token_urlsafe(32))

    def signed_in(self, key_id: uuid.UUID) -> WebSession:
        # a fresh token at sign-in: a token seen before it is worth nothing after
        return WebSession(csrf=secrets.token_urlsafe(32), key_id=key_id)


class SessionCodec:
    """Signs and reads the session cookie."""

    def __init__(self, secret: str, *, secure: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="era-recon.web.session")
        self.secure = secure

    def dumps(self, web_session: WebSession) -> str:
        payload = {"c": web_session.csrf}
        if web_session.key_id is not None:
            payload["k"] = str(web_session.key_id)
        return self._serializer.dumps(payload)

    def loads(self, cookie: str | None) -> WebSession | None:
        if not cookie:
            return None
        try:
            payload = self._serializer.loads(cookie, max_age=MAX_AGE_SECONDS)
        except BadSignature:  # includes SignatureExpired
            return None
        if not isinstance(payload, dict) or not isinstance(payload.get("c"), str):
            return None
        key_id: uuid.UUID | None = None
        if isinstance(payload.get("k"), str):
            try:
                key_id = uuid.UUID(payload["k"])
            except ValueError:
                return None
        return WebSession(csrf=payload["c"], key_id=key_id)

    def store(self, response: Response, web_session: WebSession) -> None:
        response.set_cookie(
            COOKIE_NAME,
            self.dumps(web_session),
            max_age=MAX_AGE_SECONDS,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(
            COOKIE_NAME, path="/", secure=self.secure, httponly=True, samesite="lax"
        )


def csrf_matches(web_session: WebSession | None, submitted: str | None) -> bool:
    if web_session is None or not submitted:
        return False
    return hmac.compare_digest(web_session.csrf.encode(), submitted.encode())


def apply_page_headers(response: Response) -> None:
    for name, value in PAGE_HEADERS.items():
        response.headers[name] = value
