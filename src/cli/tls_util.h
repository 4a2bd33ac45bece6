// OpenSSL client context for the CLI's TLS connections (stun, load, credentials URL).
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace turnpike::cli {

struct TlsOptions {
  bool insecure = false;  // do not verify the server certificate
  std::string ca_file;    // verify against this CA bundle instead of the system store
};

struct SslCtxDeleter {
  void operator()(SSL_CTX* ctx) const noexcept { SSL_CTX_free(ctx); }
};
using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxDeleter>;

struct SslDeleter {
  void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};
using SslPtr = std::unique_ptr<SSL, SslDeleter>;

// A TLS >= 1.2 client context that offers ALPN `alpn` ("stun.turn" for TURN, RFC 7443; turnpiked
// tells TURN from HTTP by it). Verifies the server certificate against ca_file (or the system
// store) unless insecure. nullptr + *error on failure.
SslCtxPtr make_client_tls_context(const TlsOptions& options, std::string* error,
                                  const std::string& alpn = "stun.turn");

// A new SSL for one connection to `host`: SNI when host is a name, and (when the context
// verifies) the certificate must match the name or IP address.
SslPtr make_client_ssl(SSL_CTX* ctx, const std::string& host, std::string* error);

// The oldest queued OpenSSL error as text (and clears the queue).
std::string openssl_error();

// Why the handshake failed: the verification result when the certificate was rejected, else the
// OpenSSL error queue.
std::string handshake_error(SSL* ssl);

}  // namespace turnpike::cli
