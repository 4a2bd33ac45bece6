// Constant-time comparison for MACs and secrets.
#pragma once

#include <openssl/crypto.h>

#include "turnpike/util/bytes.h"

namespace turnpike {

// True when a and b have the same length and contents; the time taken depends only on the length.
inline bool constant_time_equal(ByteView a, ByteView b) noexcept {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace turnpike
