"""API key secrets: format, keyed hash, constant-time comparison (app/access/keys.py)."""

from __future__ import annotations

import hmac

import pytest

from app.access import keys


def test_new_secret_has_the_documented_format():
    prefix, secret = keys.new_secret()
    assert secret.startswith(f"er_{prefix}_")
    assert len(prefix) == 12
    assert keys.parse_prefix(secret) == prefix
    # 32 random bytes, URL-safe base64 without padding
    assert len(secret.split("_", 2)[2]) >= 43


def test_secrets_are_unique():
    secrets = {keys.new_secret()[1] for _ in range(200)}
    prefixes = {s.split("_")[1] for s in secrets}
    assert len(secrets) == 200
    assert len(prefixes) == 200


@pytest.mark.parametrize(
    "secret",
    [
        "",
        "er_",
        "er_0123456789ab",
        "er_0123456789ab_short",
        "xx_0123456789ab_" + "A" * 43,
        "er_0123456789AB_" + "A" * 43,  # the prefix is lowercase hex
        "er_0123456789a_" + "A" * 43,
        "er_0123456789ab_" + "A" * 42 + "!",
        "Bearer er_0123456789ab_" + "A" * 43,
    ],
)
def test_malformed_secrets_have_no_prefix(secret):
    assert keys.parse_prefix(secret) is None


def test_hash_is_keyed_by_the_pepper():
    _, secret = keys.new_secret()
    one, two = keys.key_pepper("one"), keys.key_pepper("two")
    assert keys.hash_secret(secret, one) != keys.hash_secret(secret, two)
    assert keys.key_pepper(None) == keys.key_pepper(None) != one
    digest = keys.hash_secret(secret, one)
    assert len(digest) == 64
    assert secret not in digest
    assert keys.verify_secret(secret, digest, one)
    assert not keys.verify_secret(secret, digest, two)
    assert not keys.verify_secret(secret + "x", digest, one)


def test_verification_uses_a_constant_time_comparison(monkeypatch):
    calls = []
    real = hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    pepper = keys.key_pepper("p")
    _, secret = keys.new_secret()
    assert keys.verify_secret(secret, keys.hash_secret(secret, pepper), pepper)
    assert len(calls) == 1
