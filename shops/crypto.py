"""Shop credentials encrypted at rest (Fernet: AES-128-CBC with HMAC-SHA256, from `cryptography`).

The key:

- `BACKYARD_CREDENTIALS_KEY` in the environment: one or more Fernet keys (urlsafe base64 of 32 bytes, as
  `Fernet.generate_key()` prints them), comma separated. The FIRST key encrypts; every key decrypts. To
  rotate: put a new key in front (`NEW,OLD`), restart, run `shops.services.shop_credentials_rotate()` (it
  re-encrypts every shop with the new key), then drop OLD from the list.
- unset: a key derived from SECRET_KEY with HKDF-SHA256 and the fixed info string below. Good enough for a
  development machine and the demo; production sets its own key, so that a leaked SECRET_KEY (which signs
  sessions) does not also open every merchant's mall credentials, and so that SECRET_KEY can be rotated
  without losing the credentials.

Why not a transparently decrypting model field: a wrong key would then break every query that loads a shop
(the order list joins shops), so one mistake in the environment would take the whole site down. The column
holds the token as text, and only the code that needs the secrets (a poll, the admin form) decrypts it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Mapping

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

ENV_KEY = "BACKYARD_CREDENTIALS_KEY"
HKDF_INFO = b"backyard shops credentials v1"
MASK = "\u2022\u2022\u2022\u2022"  # ••••


class CredentialsUnreadable(Exception):
    """The stored credentials cannot be decrypted with any configured key (the key changed or was lost)."""


def derived_key(secret_key: str) -> bytes:
    """The Fernet key derived from SECRET_KEY when no key is configured."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO).derive(secret_key.encode("utf-8"))
    return base64.urlsafe_b64encode(raw)


def _configured_keys() -> list[bytes]:
    value = os.environ.get(ENV_KEY, "").strip()
    if not value:
        return [derived_key(settings.SECRET_KEY)]
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
    return keys


def fernet() -> MultiFernet:
    """The configured keys; read each time (cheap), so a changed environment or SECRET_KEY takes effect."""
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
