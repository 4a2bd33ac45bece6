"""turnpiked configuration files for a port block: the base config (UDP listener, relay range,
static users, REST secrets), TCP/TLS listeners, and the `credentials` section (HTTPS API)."""

from __future__ import annotations

import json
from typing import Optional

from .net import LOOPBACK, PortBlock, http_listener_port

REALM = "turnpike.test"
STATIC_USERS = {"alice": "alice-pass"}
REST_SECRETS = ["s3cret-one", "s3cret-two"]


def base_config(block: PortBlock, **overrides) -> dict:
    cfg = {
        "listeners": [{"transport": "udp", "address": LOOPBACK, "port": block.listener}],
        "relay": {"address": LOOPBACK, "port_min": block.relay_min, "port_max": block.relay_max},
        "auth": {"realm": REALM, "static_users": dict(STATIC_USERS),
                 "rest_secrets": list(REST_SECRETS)},
        "peers": {"allow": ["127.0.0.0/8"]},
        "log": {"level": "debug"},
    }
    cfg.update(overrides)
    return cfg


def write_json(path: str, obj) -> None:
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


def stream_config(block: PortBlock, cert: Optional[str] = None, key: Optional[str] = None,
                  handshake_timeout: Optional[int] = None, **overrides) -> dict:
    """base_config plus a TCP listener (block.tcp_listener) and, with cert/key, a TLS listener
    (block.tls_listener) and the "tls" section."""
    cfg = base_config(block, **overrides)
    cfg["listeners"] = list(cfg["listeners"]) + [
        {"transport": "tcp", "address": LOOPBACK, "port": block.tcp_listener}]
    tls: dict = {}
    if cert is not None:
        cfg["listeners"].append({"transport": "tls", "address": LOOPBACK, "port": block.tls_listener})
        tls.update({"certificate": cert, "private_key": key})
    if handshake_timeout is not None:
        tls["handshake_timeout"] = handshake_timeout
    if tls:
        cfg["tls"] = tls
    return cfg


API_KEY_LABEL = "it-app"
API_KEY = "it-api-key-0123456789abcdef"  # >= 16 characters (credentials.api_keys[].key)


def credentials_block(api_keys: Optional[list] = None, **overrides) -> dict:
    """A `credentials` config section: one API key (API_KEY_LABEL/API_KEY), hosts 127.0.0.1 and a
    per-IP limit high enough for a test's own requests; keyword arguments replace keys."""
    creds = {
        "api_keys": [{"label": API_KEY_LABEL, "key": API_KEY}] if api_keys is None else api_keys,
        "hosts": [LOOPBACK],
        "rate_limit": {"per_ip_per_minute": 1000, "per_key_per_minute": 1000},
    }
    creds.update(overrides)
    return creds


def credentials_config(block: PortBlock, cert: str, key: str, credentials: Optional[dict] = None,
                       http_listener: bool = False, tls_metrics: Optional[bool] = None,
                       **overrides) -> dict:
    """stream_config (UDP, TCP, TLS listeners) plus a `credentials` section; with http_listener,
    an "http" listener on http_listener_port(block) with "metrics": true; tls_metrics sets the TLS
    listener's "metrics" flag explicitly."""
    cfg = stream_config(block, cert=cert, key=key, **overrides)
    cfg["credentials"] = credentials_block() if credentials is None else credentials
    if tls_metrics is not None:
        for listener in cfg["listeners"]:
            if listener["transport"] == "tls":
                listener["metrics"] = tls_metrics
    if http_listener:
        cfg["listeners"].append({"transport": "http", "address": LOOPBACK,
                                 "port": http_listener_port(block), "metrics": True})
    return cfg
