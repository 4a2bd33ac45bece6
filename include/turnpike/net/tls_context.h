// The server's OpenSSL context: TLS 1.2 and 1.3 only, a modern cipher list, the certificate chain
// and key from PEM files, ALPN "stun.turn" (RFC 7443) accepted but not required.
#pragma once

#include <openssl/ssl.h>

#include <memory>
#include <string>

namespace turnpike::net {

class TlsContext {
 public:
  // Reads and checks the PEM files (call before dropping privileges: keys are often root-only).
  // Throws std::runtime_error naming the file and OpenSSL's reason.
  static std::unique_ptr<TlsContext> load(const std::string& certificate_chain,
                                          const std::string& private_key);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  [[nodiscard]] SSL_CTX* get() const noexcept { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

}  // namespace turnpike::net
