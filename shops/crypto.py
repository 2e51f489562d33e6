"""Shop credentials encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256, from `cryptography`).

The key:

- `BACKYARD_CREDENTIALS_KEY` in the environment (settings.BACKYARD_CREDENTIALS_KEY): one or more Fernet keys
  (urlsafe base64 of 32 bytes, as `Fernet.generate_key()` prints them), comma separated. The FIRST key
  encrypts; every key decrypts. To rotate: put a new key in front (`NEW,OLD`), restart, run
  `shops.services.shop_credentials_rotate()` (it re-encrypts every shop with the new key), then drop OLD.
- unset: the key `make run` made once into var/credentials_key, else the settings refuse to start
  (backyard/settings.py); this module refuses to encrypt or decrypt without a key. There is no fallback derived
  from SECRET_KEY: a database dump plus SECRET_KEY (or, for a development key printed in the source, the source
  alone) would then open every merchant's mall credentials, and SECRET_KEY could not be rotated without losing
  them. The tests make their own key (tests/keys.py).

Why not a transparently decrypting model field: a wrong key would then break every query that loads a shop
(the order list joins shops), so one mistake in the environment would take the whole site down. The column
holds the token as text, and only the code that needs the secrets (a poll, the admin form) decrypts it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ENV_KEY = "BACKYARD_CREDENTIALS_KEY"
MASK = "\u2022\u2022\u2022\u2022"  # ••••


class CredentialsUnreadable(Exception):
    """The stored credentials cannot be decrypted with any configured key (the key changed or was lost)."""


def _configured_keys() -> list[bytes]:
    value = (getattr(settings, ENV_KEY, "") or "").strip()
    if not value:
        raise ImproperlyConfigured(f"{ENV_KEY} is not set: the shops' mall credentials need a key of their own")
    keys = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        try:
            if len(base64.urlsafe_b64decode(part.encode("ascii"))) != 32:
                raise ValueError("not 32 bytes")
        except (ValueError, binascii.Error, UnicodeEncodeError) as error:
            raise ImproperlyConfigured(
                f"{ENV_KEY} must be Fernet keys (urlsafe base64 of 32 bytes), comma separated: {error}"
            ) from error
        keys.append(part.encode("ascii"))
    if not keys:
        raise ImproperlyConfigured(f"{ENV_KEY} holds no key")
    return keys


def fernet() -> MultiFernet:
    """The configured keys; read each time (cheap), so a changed setting takes effect."""
    return MultiFernet([Fernet(key) for key in _configured_keys()])


def encrypt_credentials(values: Mapping[str, str]) -> str:
    """The token stored in Shop.credentials; an empty mapping is stored as "" (nothing to protect)."""
    clean = {str(k): str(v) for k, v in values.items() if v not in (None, "")}
    if not clean:
        return ""
    payload = json.dumps(clean, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return fernet().encrypt(payload).decode("ascii")


def decrypt_credentials(token: str) -> dict[str, str]:
    """The credentials as entered; "" gives {}. CredentialsUnreadable when no configured key opens them."""
    if not token:
        return {}
    try:
        payload = fernet().decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError) as error:
        raise CredentialsUnreadable("the shop's credentials cannot be decrypted with the configured key") from error
    data = json.loads(payload.decode("utf-8"))
    return {str(k): str(v) for k, v in data.items()}


def rotate_token(token: str) -> str:
    """The same credentials encrypted with the first (newest) key."""
    if not token:
        return ""
    try:
        return fernet().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as error:
        raise CredentialsUnreadable("the shop's credentials cannot be decrypted with the configured key") from error


def mask(value: str) -> str:
    """A secret as the admin shows it: "••••1234". Secrets shorter than 8 characters show no characters at
    all, so that a short secret is never half revealed."""
    if not value:
        return ""
    return MASK + value[-4:] if len(value) >= 8 else MASK
