"""HTTP(S) requests to the credential service (credentials.*, /healthz, /metrics) with the curl
binary, and the date formats of its responses."""

from __future__ import annotations

import email.utils
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Optional

from .checks import Fatal
from .daemon import Daemon


@dataclass
class HttpResult:
    status: Optional[int]          # None when curl failed (connection, TLS verification, timeout)
    headers: dict                  # lower-case name -> value (the last one when repeated)
    body: bytes
    curl_rc: Optional[int]
    curl_error: str

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        """The body as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def describe(self) -> str:
        if self.status is None:
            return f"curl failed (rc={self.curl_rc}): {self.curl_error.strip()[:200]}"
        return f"HTTP {self.status} {self.text()[:300]!r}"


def curl(url: str, cacert: Optional[str] = None, method: Optional[str] = None,
         headers: Iterable[str] = (), data: Optional[str] = None, timeout_s: float = 10.0,
         extra: Iterable[str] = (), quiet: bool = False) -> HttpResult:
    """One HTTP(S) request with the curl binary (verifying the server against `cacert`).
    headers are "Name: value" strings. Never follows redirects."""
    exe = shutil.which("curl")
    if exe is None:
        raise Fatal("curl not found (scripts/deps.sh installs it)")
    tmp = tempfile.mkdtemp(prefix="turnpike-curl-")
    try:
        head_path, body_path = os.path.join(tmp, "head"), os.path.join(tmp, "body")
        cmd = [exe, "-sS", "--max-time", str(timeout_s), "-D", head_path, "-o", body_path,
               "-w", "%{http_code}"]
        if cacert is not None:
            cmd += ["--cacert", cacert]
        if method is not None:
            cmd += ["-X", method]
        for h in headers:
            cmd += ["-H", h]
        if data is not None:
            cmd += ["--data-binary", data]
        cmd += list(extra) + [url]
        if not quiet:  # the interesting part of the command line, keys masked
            shown = ["curl"] + [
                (f"'{c.split(':', 1)[0]}: <key>'"
                 if c.lower().startswith(("authorization:", "x-api-key:"))
                 else f"'{c}'" if " " in c else c)
                for c in cmd[cmd.index("%{http_code}") + 1:]]
            print(f"  $ {' '.join(shown)}", flush=True)
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout_s + 10)
        code = proc.stdout.decode().strip()
        status = int(code) if proc.returncode == 0 and code.isdigit() and code != "000" else None
        hdrs: dict = {}
        if os.path.exists(head_path):
            with open(head_path, "rb") as f:
                blocks = f.read().decode("latin-1").replace("\r\n", "\n").strip().split("\n\n")
            for line in blocks[-1].split("\n")[1:]:
                if ":" in line:
                    name, value = line.split(":", 1)
                    hdrs[name.strip().lower()] = value.strip()
        body = b""
        if os.path.exists(body_path):
            with open(body_path, "rb") as f:
                body = f.read()
        return HttpResult(status, hdrs, body, proc.returncode, proc.stderr.decode("utf-8", "replace"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def https_url(d: Daemon, path: str) -> str:
    host, port = d.tls_address
    return f"https://{host}:{port}{path}"


def rfc3339_utc(unix_s: int) -> str:
    return datetime.fromtimestamp(unix_s, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc2822_to_unix(text: str) -> Optional[int]:
    try:
        return int(email.utils.parsedate_to_datetime(text).timestamp())
    except (TypeError, ValueError, IndexError):
        return None
