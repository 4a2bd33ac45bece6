#include "turnpike/util/crypto.h"

#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace turnpike::crypto {
namespace {

struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};

// Fetched once per process; EVP_MAC objects are immutable and thread-safe after fetch.
EVP_MAC* hmac_algorithm() noexcept {
  static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

// One HMAC context per digest and thread, created with its digest once: re-keying it with
// EVP_MAC_init(ctx, key, nullptr) skips the per-call context allocation and digest lookup that
// made one HMAC-SHA1 cost ~1.3 us (every authenticated request verifies one and signs one).
EVP_MAC_CTX* thread_context(const char* digest, size_t slot) noexcept {
  thread_local std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> contexts[2];
  auto& ctx = contexts[slot];
  if (!ctx) {
    ctx.reset(EVP_MAC_CTX_new(hmac_algorithm()));
    if (!ctx) return nullptr;
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>(digest), 0),
                           OSSL_PARAM_construct_end()};
    if (EVP_MAC_CTX_set_params(ctx.get(), params) != 1) {
      ctx.reset();
      return nullptr;
    }
  }
  return ctx.get();
}

template <size_t N>
std::array<uint8_t, N> hmac(const char* digest, size_t slot, ByteView key,
                            std::span<const ByteView> parts) noexcept {
  std::array<uint8_t, N> out{};
  EVP_MAC_CTX* ctx = thread_context(digest, slot);
  if (ctx == nullptr) return out;
  // An empty key is legal for HMAC; OpenSSL wants a non-null pointer.
  static const uint8_t kEmpty = 0;
  const uint8_t* key_data = key.empty() ? &kEmpty : key.data();
  if (EVP_MAC_init(ctx, key_data, key.size(), nullptr) != 1) return out;
  for (ByteView part : parts) {
    if (!part.empty() && EVP_MAC_update(ctx, part.data(), part.size()) != 1) return out;
  }
  size_t written = 0;
  EVP_MAC_final(ctx, out.data(), &written, out.size());
  return out;
}

template <size_t N>
std::array<uint8_t, N> digest(const EVP_MD* md, ByteView data) noexcept {
  std::array<uint8_t, N> out{};
  unsigned int written = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &written, md, nullptr);
  return out;
}

}  // namespace

Sha1Mac hmac_sha1(ByteView key, std::span<const ByteView> parts) noexcept {
  return hmac<20>("SHA1", 0, key, parts);
}
Sha256Digest hmac_sha256(ByteView key, std::span<const ByteView> parts) noexcept {
  return hmac<32>("SHA256", 1, key, parts);
}
Md5Digest md5(ByteView data) noexcept { return digest<16>(EVP_md5(), data); }
Sha256Digest sha256(ByteView data) noexcept { return digest<32>(EVP_sha256(), data); }

std::string base64_encode(ByteView data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data.data(),
                                static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n < 0 ? 0 : n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  // '=' may only pad the end: "xx==" or "xxx=". EVP_DecodeBlock alone accepts it anywhere.
  const size_t first_pad = text.find('=');
  if (first_pad != std::string_view::npos &&
      (first_pad + 2 < text.size() ||
       text.find_first_not_of('=', first_pad) != std::string_view::npos)) {
    return std::nullopt;
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  size_t len = static_cast<size_t>(n);
  // EVP_DecodeBlock keeps the bytes that padding stands for; drop them.
  if (!text.empty() && text.back() == '=') --len;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --len;
  out.resize(len);
  return out;
}

bool random_bytes(MutableByteView out) noexcept {
  return RAND_bytes(out.data(), static_cast<int>(out.size())) == 1;
}

uint64_t random_u64() {
  std::array<uint8_t, 8> bytes{};
  if (!random_bytes(bytes)) throw std::runtime_error("no randomness from OpenSSL");
  uint64_t value = 0;
  for (const uint8_t b : bytes) value = (value << 8) | b;
  return value;
}

SecretStream::SecretStream() {
  if (!random_bytes(key_)) throw std::runtime_error("no randomness from OpenSSL");
}

uint64_t SecretStream::next() noexcept {
  std::array<uint8_t, 8> count{};
  ++counter_;
  for (size_t i = 0; i < 8; ++i) count[i] = static_cast<uint8_t>(counter_ >> (56 - 8 * i));
  const Sha256Digest mac = hmac_sha256(key_, count);
  uint64_t value = 0;
  for (size_t i = 0; i < 8; ++i) value = (value << 8) | mac[i];
  return value;
}

}  // namespace turnpike::crypto
