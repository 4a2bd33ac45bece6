#include "turnpike/util/crypto.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "turnpike/util/constant_time.h"

namespace turnpike::crypto {
namespace {

template <size_t N>
std::string hex(const std::array<uint8_t, N>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

TEST(Crypto, HmacSha1Rfc2202) {
  const std::vector<uint8_t> key(20, 0x0b);
  // RFC 2202 §3, test case 1.
  EXPECT_EQ(hex(hmac_sha1(key, as_bytes("Hi There"))), "b617318655057264e28bc0b6fb378c8ef146be00");
  // Test case 2: a key shorter than the block.
  EXPECT_EQ(hex(hmac_sha1(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  // Test case 6: a key longer than the block (80 bytes of 0xaa).
  const std::vector<uint8_t> long_key(80, 0xaa);
  EXPECT_EQ(
      hex(hmac_sha1(long_key, as_bytes("Test Using Larger Than Block-Size Key - Hash Key First"))),
      "aa4ae5e15272d00e95705637ce8a3b55ed402112");
}

TEST(Crypto, HmacOverPartsEqualsWhole) {
  const std::vector<uint8_t> key(20, 0x0b);
  const ByteView parts[] = {as_bytes("Hi"), as_bytes(""), as_bytes(" The"), as_bytes("re")};
  EXPECT_EQ(hex(hmac_sha1(key, parts)), "b617318655057264e28bc0b6fb378c8ef146be00");
  EXPECT_EQ(hmac_sha256(key, parts), hmac_sha256(key, as_bytes("Hi There")));
}

TEST(Crypto, HmacEmptyKeyAndData) {
  EXPECT_EQ(hex(hmac_sha1({}, ByteView{})), "fbdb1d1b18aa6c08324b7d64b71fb76370690e1d");
  EXPECT_EQ(hex(hmac_sha256({}, ByteView{})),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Crypto, HmacSha256Rfc4231) {
  const std::vector<uint8_t> key(20, 0x0b);
  // RFC 4231 §4.2, test case 1.
  EXPECT_EQ(hex(hmac_sha256(key, as_bytes("Hi There"))),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // §4.3, test case 2.
  EXPECT_EQ(hex(hmac_sha256(as_bytes("Jefe"), as_bytes("what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, Digests) {
  EXPECT_EQ(hex(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hex(sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hex(md5(as_bytes("abc"))), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(hex(md5({})), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(Crypto, Base64Rfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(as_bytes(plain)), encoded) << plain;
    EXPECT_EQ(base64_decode(encoded), std::optional<std::string>(plain)) << encoded;
  }
}

TEST(Crypto, Base64RoundTripAllLengths) {
  std::string data;
  for (int i = 0; i < 70; ++i) {
    const auto encoded = base64_encode(as_bytes(data));
    EXPECT_EQ(encoded.size() % 4, 0u);
    EXPECT_EQ(base64_decode(encoded), std::optional<std::string>(data)) << i;
    data.push_back(static_cast<char>((i * 37 + 11) & 0xFF));  // includes NUL and high bytes
  }
}

TEST(Crypto, Base64RejectsMalformed) {
  for (const char* text : {"Z", "Zm9", "Zm9vY", "Zm9v!", "Zm9v Zm9v", "Zm$v", " Zm9", "Zm\n9"}) {
    EXPECT_FALSE(base64_decode(text)) << text;
  }
}

// KNOWN BUG in src/util/crypto.cpp (reported, not ours to fix): EVP_DecodeBlock treats '=' as
// zero bits wherever it appears, so misplaced padding is accepted and decodes to junk, e.g.
// "Zg=a" -> {0x66, 0x00}, "====" -> {0x00}, "Zg==Zg==" -> 4 bytes. Enable once fixed.
TEST(Crypto, Base64RejectsMisplacedPadding) {
  for (const char* text : {"Zm9vY===", "Zg=a", "Z===", "====", "Zm9v====", "=Zg=", "Zg==Zg=="}) {
    EXPECT_FALSE(base64_decode(text)) << text;
  }
}

TEST(Crypto, RandomBytes) {
  std::array<uint8_t, 32> a{};
  std::array<uint8_t, 32> b{};
  ASSERT_TRUE(random_bytes(a));
  ASSERT_TRUE(random_bytes(b));
  EXPECT_NE(a, b);
  EXPECT_TRUE(random_bytes(MutableByteView{}));
}

TEST(ConstantTime, Equal) {
  EXPECT_TRUE(constant_time_equal(as_bytes("abc"), as_bytes("abc")));
  EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("abd")));
  EXPECT_FALSE(constant_time_equal(as_bytes("abc"), as_bytes("ab")));
  EXPECT_TRUE(constant_time_equal({}, {}));
}

// Each SecretStream has its own key from the CSPRNG: two streams never agree, values do not repeat.
TEST(Crypto, SecretStreamsAreIndependent) {
  SecretStream one;
  SecretStream two;
  std::vector<uint64_t> a;
  std::vector<uint64_t> b;
  for (int i = 0; i < 16; ++i) {
    a.push_back(one.next());
    b.push_back(two.next());
  }
  EXPECT_NE(a, b);
  std::sort(a.begin(), a.end());
  EXPECT_EQ(std::unique(a.begin(), a.end()), a.end());
  EXPECT_NE(random_u64(), random_u64());
}

}  // namespace
}  // namespace turnpike::crypto
