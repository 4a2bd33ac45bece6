"""TURN REST credentials (base64(HMAC-SHA1(secret, username))), the API key header, and the check
of a credential minted by the server."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Optional

from .daemon_config import API_KEY
from .runner import Context


def rest_password(secret: str, username: str) -> str:
    """TURN REST: base64(HMAC-SHA1(secret, username))."""
    return base64.b64encode(hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()).decode()


def rest_credential(secret: str, user: str, expiry_unix: int, separator: str = ":") -> tuple[str, str]:
    username = f"{expiry_unix}{separator}{user}" if user else str(expiry_unix)
    return username, rest_password(secret, username)


def bearer(key: str = API_KEY) -> str:
    return f"Authorization: Bearer {key}"


def check_rest_credential(ctx: Context, what: str, username, password, secret: str, label: str,
                          now_unix: Optional[int] = None, ttl: Optional[int] = None) -> Optional[int]:
    """Checks a minted credential: username "<expiry>:<label>" and password
    base64(HMAC-SHA1(secret, username)); with now_unix/ttl, that expiry is now + ttl (+-5 s).
    Returns the expiry or None."""
    ok = ctx.check(isinstance(username, str) and isinstance(password, str),
                   f"{what}: username and password are strings", f"{username!r} / {password!r}")
    if not ok:
        return None
    m = re.fullmatch(r"(\d+):(.+)", username)
    ctx.check(m is not None and m.group(2) == label, f"{what}: username is \"<expiry>:{label}\"",
              username)
    if m is None:
        return None
    expiry = int(m.group(1))
    ctx.check(password == rest_password(secret, username),
              f"{what}: password == base64(HMAC-SHA1(secret, username)) computed here",
              f"got {password!r}, expected {rest_password(secret, username)!r}")
    if now_unix is not None and ttl is not None:
        ctx.check(abs(expiry - (now_unix + ttl)) <= 5, f"{what}: expiry is now + {ttl} s",
                  f"expiry {expiry}, now {now_unix}, difference {expiry - now_unix}")
    return expiry
