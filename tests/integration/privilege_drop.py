#!/usr/bin/env python3
"""Started as root with "user": "nobody", turnpiked binds TLS on port 443 (below 1024: needs root),
reads a root-only (mode 600) private key, then drops to nobody (RFC-independent operational rule
from the transport issue). Checks: the process's real/effective/saved uid and gid are nobody's;
port 443 is still bound and serves TURN over TLS (a Binding request over TLS gets a success);
SIGTERM exits 0. Skips (77) when not run as root."""

import os
import pwd
import socket
import ssl
import struct
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
from standalone import StandaloneDaemon, report  # noqa: E402

ADDRESS = "127.0.0.7"  # its own loopback address: no clash with the e2e tests' 443 listeners


def main() -> int:
    daemon = sys.argv[sys.argv.index("--daemon") + 1]
    if os.geteuid() != 0:
        print("SKIP: needs root (binds port 443 and drops privileges)")
        return 77
    nobody = pwd.getpwnam("nobody")
    work = tempfile.mkdtemp(prefix="turnpike-priv-")
    os.chmod(work, 0o755)
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "1", "-subj", f"/CN={ADDRESS}"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)  # like /etc/letsencrypt/live/*/privkey.pem: root only
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((ADDRESS, 0))
        udp_port = s.getsockname()[1]
    daemon_proc = StandaloneDaemon(daemon, work, f"""{{
  "listeners": [{{"transport": "tls", "address": "{ADDRESS}", "port": 443}},
                {{"transport": "udp", "address": "{ADDRESS}", "port": {udp_port}}}],
  "relay": {{"address": "127.0.0.1", "port_min": 32100, "port_max": 32149}},
  "auth": {{"static_users": {{"alice": "alice-pass"}}}},
  "tls": {{"certificate": "{cert}", "private_key": "{key}"}},
  "user": "nobody", "workers": 2, "log": {{"level": "info"}}
}}""")
    failures = []
    try:
        if not daemon_proc.wait_ready():
            print("FAIL: daemon did not become ready")
            return 1
        with open(f"/proc/{daemon_proc.proc.pid}/status") as f:
            ids = {l.split(":")[0]: l.split()[1:] for l in f if l.startswith(("Uid", "Gid"))}
        print(f"Uid {ids['Uid']}  Gid {ids['Gid']}")
        if ids["Uid"] != [str(nobody.pw_uid)] * 4:
            failures.append(f"uid not dropped to {nobody.pw_uid}: {ids['Uid']}")
        if ids["Gid"] != [str(nobody.pw_gid)] * 4:
            failures.append(f"gid not dropped to {nobody.pw_gid}: {ids['Gid']}")
        # TURN over TLS on 443 still works after the drop: a Binding request gets a success.
        context = ssl.create_default_context(cafile=cert)
        context.check_hostname = False
        with socket.create_connection((ADDRESS, 443), timeout=5) as raw:
            with context.wrap_socket(raw) as tls:
                tid = os.urandom(12)
                tls.sendall(struct.pack("!HHI", 0x0001, 0, 0x2112A442) + tid)
                reply = tls.recv(512)
                ok = len(reply) >= 20 and struct.unpack("!H", reply[:2])[0] == 0x0101 and \
                    reply[8:20] == tid
                print(f"Binding over TLS on {ADDRESS}:443 after the drop: "
                      f"{'success' if ok else reply[:20].hex()}")
                if not ok:
                    failures.append("no Binding success over TLS on 443")
        if "dropped privileges to user 'nobody'" not in daemon_proc.log_text():
            failures.append("no 'dropped privileges' log line")
    finally:
        daemon_proc.stop_and_check(failures)
    return report(failures)


if __name__ == "__main__":
    sys.exit(main())
