#include "turnpike/net/tls_context.h"

#include <openssl/err.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

namespace turnpike::net {
namespace {

constexpr long kSessionCacheSize = 20480;  // sessions, shared by all workers (OpenSSL's default)
constexpr long kSessionLifetimeS = 3600;   // a resumable session's lifetime

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// ALPN: RFC 7443 "stun.turn" for TURN, "http/1.1" for the credential endpoint on the same port
// (h2 is not spoken, so a browser offering h2 and http/1.1 gets http/1.1). ALPN is optional for
// TURN clients (browsers' TURN stacks do not send it): no match is not an error, we just do not
// acknowledge, and the first bytes decide.
bool offered(const unsigned char* in, unsigned int in_len, std::string_view protocol,
             const unsigned char** out, unsigned char* out_len) {
  for (unsigned int i = 0; i < in_len;) {
    const unsigned int len = in[i];
    if (i + 1 + len > in_len) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == protocol) {
      *out = in + i + 1;
      *out_len = static_cast<unsigned char>(len);
      return true;
    }
    i += 1 + len;
  }
  return false;
}

int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void*) {
  if (offered(in, in_len, "stun.turn", out, out_len)) return SSL_TLSEXT_ERR_OK;
  if (offered(in, in_len, "http/1.1", out, out_len)) return SSL_TLSEXT_ERR_OK;
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::unique_ptr<TlsContext> TlsContext::load(const std::string& certificate_chain,
                                             const std::string& private_key) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) throw std::runtime_error("tls: cannot create context: " + openssl_error());
  std::unique_ptr<TlsContext> out(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  // No session tickets (docs/security.md): OpenSSL's ticket key would live as long as this context
  // (until the next reload) and unlock every TLS 1.2 session resumed with it. Resumption goes
  // through the bounded server-side cache instead (TLS 1.2 session ids, TLS 1.3 stateful tickets).
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_TICKET);
  // TLS 1.2: forward-secret AEAD suites only. TLS 1.3 keeps OpenSSL's default suites.
  if (SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20") != 1) {
    throw std::runtime_error("tls: cipher list rejected: " + openssl_error());
  }
  if (SSL_CTX_use_certificate_chain_file(ctx, certificate_chain.c_str()) != 1) {
    throw std::runtime_error("tls.certificate: cannot load '" + certificate_chain +
                             "': " + openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, private_key.c_str(), SSL_FILETYPE_PEM) != 1) {
    throw std::runtime_error("tls.private_key: cannot load '" + private_key +
                             "': " + openssl_error());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    throw std::runtime_error("tls.private_key: does not match tls.certificate: " + openssl_error());
  }
  SSL_CTX_set_alpn_select_cb(ctx, select_alpn, nullptr);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(ctx, kSessionCacheSize);  // oldest evicted when full
  SSL_CTX_set_timeout(ctx, kSessionLifetimeS);
  SSL_CTX_set_num_tickets(ctx, 1);  // TLS 1.3: one stateful ticket (a cache entry) per handshake
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace turnpike::net
