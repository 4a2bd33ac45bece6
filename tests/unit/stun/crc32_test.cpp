// CRC-32 of FINGERPRINT: the carry-less-multiplication path must agree with the table path for
// every length and alignment (the RFC 5769 vectors check both through parse() as well).
#include "turnpike/stun/crc32.h"

#include <gtest/gtest.h>

#include <random>
#include <string_view>
#include <vector>

namespace turnpike::stun {
namespace {

ByteView bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Crc32, CheckValues) {
  // The CRC-32 catalogue's check value, and two more fixed points.
  EXPECT_EQ(crc32(bytes_of("123456789")), 0xCBF43926u);
  EXPECT_EQ(crc32_portable(bytes_of("123456789")), 0xCBF43926u);
  EXPECT_EQ(crc32(ByteView{}), 0u);
  const std::vector<uint8_t> zeros(64, 0);
  EXPECT_EQ(crc32(zeros), crc32_portable(zeros));
  const std::vector<uint8_t> ones(4096, 0xFF);
  EXPECT_EQ(crc32(ones), crc32_portable(ones));
}

TEST(Crc32, AcceleratedAgreesWithTablesForEveryLengthAndOffset) {
  std::mt19937 rng(8489);
  std::vector<uint8_t> data(1200);
  for (auto& b : data) b = static_cast<uint8_t>(rng());
  for (size_t offset = 0; offset < 16; ++offset) {
    for (size_t length = 0; length + offset <= 700; ++length) {
      const ByteView view(data.data() + offset, length);
      ASSERT_EQ(crc32(view), crc32_portable(view)) << "offset " << offset << " length " << length;
    }
  }
  RecordProperty("accelerated", crc32_accelerated() ? "yes" : "no");
}

}  // namespace
}  // namespace turnpike::stun
