#include "turnpike/net/tls_context.h"

#include <openssl/err.h>

#include <cstring>
#include <stdexcept>
#include <string_view>

namespace turnpike::net {
namespace {

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  ERR_clear_error();
  return buf;
}

// RFC 7443: "stun.turn" for TURN. Offered but absent protocols are not an error: ALPN is optional
// for TURN clients (browsers do not send it), so we simply do not acknowledge.
int select_alpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
                unsigned int in_len, void*) {
  constexpr std::string_view kTurn = "stun.turn";
  for (unsigned int i = 0; i < in_len;) {
    const unsigned int len = in[i];
    if (i + 1 + len > in_len) break;
    if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == kTurn) {
      *out = in + i + 1;
      *out_len = static_cast<unsigned char>(len);
      return SSL_TLSEXT_ERR_OK;
    }
    i += 1 + len;
  }
  return SSL_TLSEXT_ERR_NOACK;
}

}  // namespace

std::unique_ptr<TlsContext> TlsContext::load(const std::string& certificate_chain,
                                             const std::string& private_key) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) throw std::runtime_error("tls: cannot create context: " + openssl_error());
  std::unique_ptr<TlsContext> out(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
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
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

}  // namespace turnpike::net
