"""API key secrets: their format, and the keyed hash that is all the database keeps.

A secret reads ``er_<prefix>_<random>``: ``prefix`` (12 hex characters) is the key's
public lookup id, stored in ``api_keys.prefix`` (unique); ``random`` is 32 random
bytes, URL-safe base64. Only ``HMAC-SHA256(pepper, secret)`` is stored: the secrets
are high-entropy, so a fast keyed hash is the right tool (no password stretching
needed) and keeps authentication to one indexed lookup plus one HMAC per request.

The pepper is derived from ``ERA_RECON_SECRET_KEY`` (with a fixed default when it is
unset), so a copy of the database alone cannot be used to test guessed keys.
Changing ``ERA_RECON_SECRET_KEY`` invalidates every stored key (spec/interfaces.md,
"Authentication"; docs/api.md).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

SCHEME = "er"
PREFIX_BYTES = 6  # 12 hex characters: the public id, unique per key
RANDOM_BYTES = 32  # the secret part: 256 bits
DEFAULT_PEPPER_SOURCE = "era-recon default API key pepper (set ERA_RECON_SECRET_KEY)"

_SECRET = re.compile(r"^er_([0-9a-f]{12})_([A-Za-z0-9_-]{43,})$")


def new_secret() -> tuple[str, str]:
    """A new ``(prefix, secret)`` pair."""
    prefix = secrets.token_hex(PREFIX_BYTES)
    return prefix, f"{SCHEME}_{prefix}_{secrets.token_urlsafe(RANDOM_BYTES)}"


def parse_prefix(secret: str) -> str | None:
    """The lookup prefix of a well-formed secret, else None."""
    match = _SECRET.match(secret)
    return match.group(1) if match else None


def key_pepper(secret_key: str | None) -> bytes:
    """The server-side pepper: derived from ``ERA_RECON_SECRET_KEY`` (else a default)."""
    source = (secret_key or DEFAULT_PEPPER_SOURCE).encode()
    return hmac.new(source, b"era-recon api key pepper v1", hashlib.sha256).digest()


def hash_secret(secret: str, pepper: bytes) -> str:
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def verify_secret(secret: str, stored_hash: str, pepper: bytes) -> bool:
    """Constant-time comparison of the secret's keyed hash with the stored one."""
    return hmac.compare_digest(hash_secret(secret, pepper), stored_hash)
