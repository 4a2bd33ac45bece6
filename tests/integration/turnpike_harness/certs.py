"""Throw-away certificates made with openssl, and SHA-256 fingerprints of a certificate file and
of the certificate a TLS listener presents."""

from __future__ import annotations

import hashlib
import os
import shutil
import ssl

from .checks import Fatal
from .streams import connect_stream
from .tools import run_tool


def make_self_signed_cert(workdir: str, name: str = "server") -> tuple[str, str]:
    """A throw-away RSA certificate for 127.0.0.1 (subjectAltName IP); returns (cert, key) paths."""
    return make_cert(workdir, name, "127.0.0.1")


def make_cert(workdir: str, name: str, cn: str) -> tuple[str, str]:
    """A throw-away RSA certificate with subject CN `cn` (a random serial, SAN IP:127.0.0.1);
    returns (cert, key) paths. The certificate is its own CA, so `curl --cacert <cert>` verifies
    the server with it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise Fatal("openssl not found (needed to make the test certificate)")
    cert = os.path.join(workdir, f"{name}.crt")
    key = os.path.join(workdir, f"{name}.key")
    r = run_tool([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                  "-out", cert, "-days", "2", "-subj", f"/CN={cn}",
                  "-addext", "subjectAltName=IP:127.0.0.1"], timeout_s=60)
    if r.rc != 0 or not os.path.isfile(cert) or not os.path.isfile(key):
        raise Fatal(f"openssl req failed (rc={r.rc}): {r.output.strip()[-300:]}")
    return cert, key


def cert_file_sha256(path: str) -> str:
    """SHA-256 fingerprint (hex) of the first certificate in a PEM file."""
    with open(path) as f:
        pem = f.read()
    end = pem.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem[:end] + "\n")).hexdigest()


def server_cert_sha256(server: tuple[str, int], timeout_s: float = 5.0) -> str:
    """SHA-256 fingerprint (hex) of the certificate a fresh TLS connection to server presents."""
    sock = connect_stream(server, tls=True, timeout_s=timeout_s)
    try:
        der = sock.getpeercert(binary_form=True)
    finally:
        sock.close()
    if der is None:
        raise Fatal(f"no certificate from {server[0]}:{server[1]}")
    return hashlib.sha256(der).hexdigest()
