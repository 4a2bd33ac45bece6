#include "tls_util.h"

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "net_util.h"

namespace turnpike::cli {

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(code, buf, sizeof buf);
  return buf;
}

SslCtxPtr make_client_tls_context(const TlsOptions& options, std::string* error,
                                  const std::string& alpn) {
  SslCtxPtr ctx(SSL_CTX_new(TLS_client_method()));
  if (!ctx) {
    *error = "cannot create TLS context: " + openssl_error();
    return nullptr;
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (!alpn.empty() && alpn.size() < 256) {
    std::string wire(1, static_cast<char>(alpn.size()));  // length-prefixed protocol list
    wire += alpn;
    SSL_CTX_set_alpn_protos(ctx.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                            static_cast<unsigned>(wire.size()));
  }
  if (options.insecure) {
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_NONE, nullptr);
    return ctx;
  }
  if (!options.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx.get(), options.ca_file.c_str(), nullptr) != 1) {
      *error = "cannot load CA file '" + options.ca_file + "': " + openssl_error();
      return nullptr;
    }
  } else if (SSL_CTX_set_default_verify_paths(ctx.get()) != 1) {
    *error = "cannot load the system CA store: " + openssl_error();
    return nullptr;
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  return ctx;
}

SslPtr make_client_ssl(SSL_CTX* ctx, const std::string& host, std::string* error) {
  SslPtr ssl(SSL_new(ctx));
  if (!ssl) {
    *error = "cannot create TLS session: " + openssl_error();
    return nullptr;
  }
  const bool ip = is_ip_literal(host);
  // SSL_set_tlsext_host_name() without its C cast.
  if (!ip && SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                      const_cast<char*>(host.c_str())) != 1) {
    *error = "cannot set SNI: " + openssl_error();
    return nullptr;
  }
  if (SSL_CTX_get_verify_mode(ctx) != SSL_VERIFY_NONE) {
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl.get());
    const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                      : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
    if (ok != 1) {
      *error = "cannot set the expected certificate name: " + openssl_error();
      return nullptr;
    }
  }
  return ssl;
}

std::string handshake_error(SSL* ssl) {
  const long verify = SSL_get_verify_result(ssl);
  if (verify != X509_V_OK) {
    return std::string("certificate verification failed: ") +
           X509_verify_cert_error_string(verify) + " (use --ca FILE or --insecure)";
  }
  return openssl_error();
}

}  // namespace turnpike::cli
