// `turnpike load --credentials-url URL`: fetches TURN credentials over HTTP(S) with one GET, as a
// web app would from turnpiked's credentials endpoint (or any service answering with the TURN REST
// API JSON: {"username": ..., "password": ...} or {"username": ..., "credential": ...}).
#pragma once

#include <string>

#include "tls_util.h"

namespace turnpike::cli {

struct FetchedCredentials {
  std::string username;
  std::string password;
};

// http://host[:port]/path or https://...; bounded by timeout_ms. A non-empty api_key is sent as
// "Authorization: Bearer <key>". false + *error on any failure.
bool fetch_credentials(const std::string& url, const std::string& api_key, const TlsOptions& tls,
                       int timeout_ms, FetchedCredentials* out, std::string* error);

}  // namespace turnpike::cli
