"""Credentials at rest: Fernet (AES-128-CBC + HMAC-SHA256) with keys from the environment.

``CREDENTIALS_KEYS`` is a comma-separated list of Fernet keys. The first encrypts; every key
decrypts, so a key is rotated by putting a new one first, running
``manage.py rotate_credentials`` (re-encrypts every account with the first key), then removing
the old one. Generate a key with ``python -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"``.
"""

from __future__ import annotations

import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class CredentialsError(Exception):
    pass


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        raise ImproperlyConfigured("CREDENTIALS_KEYS is not set: connected accounts cannot store credentials.")
    try:
        return MultiFernet([Fernet(k.encode()) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(f"CREDENTIALS_KEYS holds an invalid Fernet key: {exc}") from exc


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.CREDENTIALS_KEYS))


def encrypt(credentials: dict) -> bytes:
    if not credentials:
        return b""
    return fernet().encrypt(json.dumps(credentials, sort_keys=True).encode())


def decrypt(token: bytes | memoryview) -> dict:
    token = bytes(token or b"")
    if not token:
        return {}
    try:
        return json.loads(fernet().decrypt(token))
    except InvalidToken as exc:
        raise CredentialsError("credentials cannot be decrypted with any key in CREDENTIALS_KEYS") from exc


def rotate(token: bytes | memoryview) -> bytes:
    token = bytes(token or b"")
    return fernet().rotate(token) if token else token
