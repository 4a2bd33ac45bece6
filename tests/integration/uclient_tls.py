#!/usr/bin/env python3
"""TURN over TLS (RFC 8656 §3.1, port of the "tls" listener) with turnutils_uclient -t -S (TLS over
TCP; -S alone would mean DTLS, which turnpiked does not offer). The server certificate is a
self-signed RSA one made here with openssl (subjectAltName IP:127.0.0.1); uclient does not verify
it. 4 clients x 100 packets of 120 bytes each, relayed to a turnutils_peer echo:
 1. static user alice, channels;
 2. static user alice, -s (Send/Data indications);
 3. TURN REST credentials: -W (uclient mints "<expiry>:<user>" and its HMAC itself), channels.
Expects 0 loss in all three."""

import sys

sys.dont_write_bytecode = True  # keep __pycache__ out of the source tree
from turnpike_harness import certs, checks, daemon_config, runner, turnutils  # noqa: E402


def body(ctx: runner.Context) -> None:
    cert, key = certs.make_self_signed_cert(ctx.workdir)
    d = ctx.start_daemon(lambda block: daemon_config.stream_config(block, cert=cert, key=key))
    tls = ["-t", "-S"]
    tls_port = d.tls_address[1]
    cred = ["-u", "alice", "-w", daemon_config.STATIC_USERS["alice"]]

    checks.section("uclient -t -S (TLS), static user, channels")
    turnutils.uclient_run(ctx, d, "tls-channel", cred, transport_args=tls, port=tls_port)

    checks.section("uclient -t -S (TLS), static user, Send/Data indications")
    turnutils.uclient_run(ctx, d, "tls-send", cred, send_method=True, transport_args=tls, port=tls_port)

    checks.section("uclient -t -S (TLS), REST credentials (-W), channels")
    turnutils.uclient_run(ctx, d, "tls-rest-W", ["-u", "restuser", "-W", daemon_config.REST_SECRETS[0], "-C", ":"],
                          transport_args=tls, port=tls_port)

    # uclient picks one of its TLS contexts at random per connection, TLS 1.0 and 1.1 among
    # them; turnpiked refuses those ("unsupported protocol") and uclient retries. Any other TLS
    # error is a failure.
    errors = [l for l in d.log_text().splitlines() if "handshake or record error" in l]
    refused_old = [l for l in errors if l.endswith("unsupported protocol")]
    print(f"  TLS handshakes refused for a protocol version below TLS 1.2: {len(refused_old)}")
    others = [l for l in errors if l not in refused_old]
    ctx.check(not others, "no TLS errors logged other than refused old protocol versions",
              f"{len(others)} lines, first: {others[0] if others else ''}")
    ctx.stop_daemon(d)


if __name__ == "__main__":
    sys.exit(runner.main("uclient_tls", body))
