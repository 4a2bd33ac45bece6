"""Shared helpers of turnpike's integration tests (Python 3 standard library only), one module
per noun. Test scripts import the modules they use, e.g.
`from turnpike_harness import checks, runner, stun_codec`; the scripts' own directory
(tests/integration) is first on sys.path when they run, from ctest or by hand.

- net:         the loopback address and a private, file-locked block of UDP ports per test
               process, so tests run concurrently by `ctest -j` never collide;
- daemon_config: turnpiked configuration files (listeners, relay range, users, REST secrets, the
               `credentials` section);
- daemon:      starts turnpiked with stderr captured to a file, waits for the "turnpiked ready"
               line, stops it with SIGTERM;
- runner:      the test driver (arguments, Context, main); on any failure every daemon log is
               printed;
- checks:      soft assertions collected per test, Fatal, output helpers;
- tools:       external programs with hard timeouts, background helpers;
- turnutils:   coturn's turnutils_peer and turnutils_uclient runs, and uclient's report parser;
- stun_codec:  the STUN/TURN wire format (RFC 8489 / RFC 8656): building with long-term
               MESSAGE-INTEGRITY and FINGERPRINT, strict parsing, XOR addresses, error codes;
- turn_client: a small TURN client over UDP, TCP or TLS;
- streams:     TCP/TLS connections to the stream listeners;
- certs:       throw-away certificates and certificate fingerprints;
- credentials: TURN REST credentials and the API key header;
- http_client: HTTP(S) requests with curl to the credential service and /metrics;
- prometheus:  a strict parser of the Prometheus text format 0.0.4.

Everything is bounded in count and time, and all traffic stays on loopback.
"""
