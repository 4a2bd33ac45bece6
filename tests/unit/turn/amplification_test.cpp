// Amplification by the answers to unauthenticated requests over UDP (docs/security.md): the bytes
// the server sends back for the smallest request of each kind, with the default realm "turnpike".
// Bytes out / bytes in is what a spoofed source could reflect towards a victim per request (the
// unauthenticated limit then caps how many per second).
#include <gtest/gtest.h>

#include <cstdio>

#include "support/test_client.h"

namespace turnpike::testing {
namespace {

using stun::Class;
using stun::Method;
namespace err = stun::error;

const FiveTuple kClient = udp_tuple("198.51.100.10:40000");

// A request of `type` with `attrs` only: no credentials, FINGERPRINT only when asked.
Bytes bare(uint16_t type, const Attrs& attrs = {}, bool fingerprint = false) {
  Bytes buffer;
  stun::MessageBuilder b(buffer, type, TestClient::next_transaction_id());
  if (attrs) attrs(b);
  if (fingerprint) b.add_fingerprint();
  return buffer;
}

size_t answer_size(Harness& h, const Bytes& request, const FiveTuple& from = kClient) {
  TestClient c(h, from);
  const Reply r = c.exchange(request);
  const double factor = static_cast<double>(r.bytes.size()) / static_cast<double>(request.size());
  std::printf("  request %3zu bytes -> %3zu bytes (%.2fx) %s\n", request.size(), r.bytes.size(),
              factor, r.is_success() ? "success" : ("error " + std::to_string(r.error)).c_str());
  return r.bytes.size();
}

TEST(Amplification, SmallestAllocateGetsA76Byte401) {
  Harness h;
  // A 20-byte Allocate (header only): header 20 + ERROR-CODE 8 (no reason) + REALM 12 + NONCE 36
  // (29 characters) = 76 bytes, 3.8x (92 bytes, 4.6x, with the 45-character nonce before).
  const Bytes request = bare(stun::make_type(Method::kAllocate, Class::kRequest));
  EXPECT_EQ(answer_size(h, request), 76U);
  // The smallest real first Allocate (REQUESTED-TRANSPORT, 28 bytes; + FINGERPRINT, 36 bytes).
  const Attrs transport = [](stun::MessageBuilder& b) {
    b.add(stun::attr::kRequestedTransport, TestClient::requested_transport(17));
  };
  const uint16_t allocate = stun::make_type(Method::kAllocate, Class::kRequest);
  EXPECT_EQ(answer_size(h, bare(allocate, transport), udp_tuple("198.51.100.10:40001")), 76U);
  EXPECT_EQ(answer_size(h, bare(allocate, transport, true), udp_tuple("198.51.100.10:40002")), 84U);
}

TEST(Amplification, BadRequestUnknownAttributeAndBinding) {
  Harness h;
  // 400 to a 20-byte request of an unknown method: ERROR-CODE 8 (the reason phrase, 12 more, does
  // not fit: it was 48 bytes, 2.4x) + FINGERPRINT 8.
  const Bytes unknown_method = bare(stun::make_type(static_cast<Method>(0x00F), Class::kRequest));
  EXPECT_EQ(answer_size(h, unknown_method), 36U);
  // 420 to a 24-byte Binding with one unknown comprehension-required attribute: ERROR-CODE 8
  // (without "Unknown Attribute": it was 64 bytes, 2.7x) + UNKNOWN-ATTRIBUTES 8 + FINGERPRINT 8.
  const Bytes unknown = bare(stun::make_type(Method::kBinding, Class::kRequest),
                             [](stun::MessageBuilder& b) { b.add(0x0031, ByteView{}); });
  EXPECT_EQ(answer_size(h, unknown, udp_tuple("198.51.100.10:40001")), 44U);
  // A request large enough gets the reason phrase (no amplification either way).
  TestClient padded(h, udp_tuple("198.51.100.10:40003"));
  padded.pad_unauthenticated = 40;
  const Reply full = padded.send_once(static_cast<Method>(0x00F), {}, false);
  ASSERT_TRUE(full.is_error(err::kBadRequest));
  EXPECT_EQ(full.reason, "Bad Request");
  // Binding, 20 bytes: XOR-MAPPED-ADDRESS 12 (IPv4) or 24 (IPv6) + FINGERPRINT 8; no SOFTWARE.
  const Bytes binding = bare(stun::make_type(Method::kBinding, Class::kRequest));
  EXPECT_EQ(answer_size(h, binding, udp_tuple("198.51.100.10:40002")), 40U);
  EXPECT_EQ(answer_size(h, binding, udp_tuple("[2001:db8::10]:40001", "[2001:db8::1]:3478")), 52U);
}

}  // namespace
}  // namespace turnpike::testing
