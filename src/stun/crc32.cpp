#include "turnpike/stun/crc32.h"

#include <array>
#include <cstddef>

#if defined(__x86_64__)
#include <immintrin.h>
#define TURNPIKE_CRC32_CLMUL 1
#endif

namespace turnpike::stun {
namespace {

// Slicing-by-8: table[s][b] is the CRC contribution of byte b followed by s zero bytes, so one step
// folds eight message bytes with eight lookups.
using CrcTables = std::array<std::array<uint32_t, 256>, 8>;
constexpr CrcTables make_tables() noexcept {
  CrcTables t{};
  for (uint32_t n = 0; n < 256; ++n) {
    uint32_t c = n;
    for (int k = 0; k < 8; ++k) c = (c & 1u) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    t[0][n] = c;
  }
  for (size_t s = 1; s < 8; ++s) {
    for (uint32_t n = 0; n < 256; ++n) t[s][n] = (t[s - 1][n] >> 8) ^ t[0][t[s - 1][n] & 0xFFu];
  }
  return t;
}
constexpr CrcTables kTables = make_tables();
static_assert(kTables[0][1] == 0x77073096u && kTables[0][255] == 0x2D02EF8Du);

// Continues a CRC register `c` (not yet final-XORed) over the bytes.
uint32_t update_tables(uint32_t c, const uint8_t* p, size_t n) noexcept {
  for (; n >= 8; n -= 8, p += 8) {
    // Little-endian assembly of the next 8 bytes, whatever the host's byte order.
    const uint32_t lo =
        c ^ (uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24);
    const uint32_t hi =
        uint32_t{p[4]} | uint32_t{p[5]} << 8 | uint32_t{p[6]} << 16 | uint32_t{p[7]} << 24;
    c = kTables[7][lo & 0xFFu] ^ kTables[6][(lo >> 8) & 0xFFu] ^ kTables[5][(lo >> 16) & 0xFFu] ^
        kTables[4][lo >> 24] ^ kTables[3][hi & 0xFFu] ^ kTables[2][(hi >> 8) & 0xFFu] ^
        kTables[1][(hi >> 16) & 0xFFu] ^ kTables[0][hi >> 24];
  }
  for (; n > 0; --n, ++p) c = kTables[0][(c ^ *p) & 0xFFu] ^ (c >> 8);
  return c;
}

#ifdef TURNPIKE_CRC32_CLMUL
// Carry-less multiplication folding for the reflected CRC-32 polynomial. The constants are
// x^k mod P(x) for the fold distances (bit-reflected, as the paper's appendix derives them):
// 4x128-bit folds (x^(4*128+32), x^(4*128-32)), 1x128-bit folds (x^(128+32), x^(128-32)), the
// 64-bit fold x^64, and the Barrett pair P(x) and floor(x^64 / P(x)).
constexpr uint64_t kFold4Lo = 0x154442BD4u;
constexpr uint64_t kFold4Hi = 0x1C6E41596u;
constexpr uint64_t kFold1Lo = 0x1751997D0u;
constexpr uint64_t kFold1Hi = 0x0CCAA009Eu;
constexpr uint64_t kFold64 = 0x163CD6124u;
constexpr uint64_t kPoly = 0x1DB710641u;
constexpr uint64_t kMu = 0x1F7011641u;

// Folds `a` forward by the distance `k` encodes and adds `next`: a.lo*k.lo ^ a.hi*k.hi ^ next.
__attribute__((target("pclmul,sse4.1"))) inline __m128i fold(__m128i a, __m128i k,
                                                             __m128i next) noexcept {
  const __m128i lo = _mm_clmulepi64_si128(a, k, 0x00);
  const __m128i hi = _mm_clmulepi64_si128(a, k, 0x11);
  return _mm_xor_si128(_mm_xor_si128(lo, hi), next);
}

__attribute__((target("pclmul,sse4.1"))) inline __m128i load(const uint8_t* p) noexcept {
  __m128i v;
  __builtin_memcpy(&v, p, sizeof v);  // unaligned load
  return v;
}

// CRC register over n bytes, n >= 64 and a multiple of 16.
__attribute__((target("pclmul,sse4.1"))) uint32_t update_clmul(uint32_t c, const uint8_t* p,
                                                               size_t n) noexcept {
  __m128i x1 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(c)));
  __m128i x2 = load(p + 16);
  __m128i x3 = load(p + 32);
  __m128i x4 = load(p + 48);
  p += 64;
  n -= 64;
  const __m128i k4 =
      _mm_set_epi64x(static_cast<long long>(kFold4Hi), static_cast<long long>(kFold4Lo));
  for (; n >= 64; n -= 64, p += 64) {
    x1 = fold(x1, k4, load(p));
    x2 = fold(x2, k4, load(p + 16));
    x3 = fold(x3, k4, load(p + 32));
    x4 = fold(x4, k4, load(p + 48));
  }
  // Four lanes into one, then the remaining 16-byte blocks.
  const __m128i k1 =
      _mm_set_epi64x(static_cast<long long>(kFold1Hi), static_cast<long long>(kFold1Lo));
  x1 = fold(x1, k1, x2);
  x1 = fold(x1, k1, x3);
  x1 = fold(x1, k1, x4);
  for (; n >= 16; n -= 16, p += 16) x1 = fold(x1, k1, load(p));

  // 128 bits to 64: the low half times x^(128-32)... folded onto the high half.
  const __m128i mask32 = _mm_setr_epi32(-1, 0, -1, 0);
  __m128i t = _mm_clmulepi64_si128(x1, k1, 0x10);
  x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), t);
  // 64 bits to 32 (plus 32 carried): the low 32 bits times x^64.
  const __m128i k64 = _mm_set_epi64x(0, static_cast<long long>(kFold64));
  t = _mm_srli_si128(x1, 4);
  x1 = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k64, 0x00), t);
  // Barrett reduction to the 32-bit remainder.
  const __m128i barrett =
      _mm_set_epi64x(static_cast<long long>(kMu), static_cast<long long>(kPoly));
  t = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), barrett, 0x10);
  t = _mm_clmulepi64_si128(_mm_and_si128(t, mask32), barrett, 0x00);
  x1 = _mm_xor_si128(x1, t);
  return static_cast<uint32_t>(_mm_extract_epi32(x1, 1));
}

bool detect_clmul() noexcept {
  __builtin_cpu_init();
  return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
}
const bool kHaveClmul = detect_clmul();
#endif

}  // namespace

uint32_t crc32_portable(ByteView bytes) noexcept {
  return update_tables(0xFFFFFFFFu, bytes.data(), bytes.size()) ^ 0xFFFFFFFFu;
}

bool crc32_accelerated() noexcept {
#ifdef TURNPIKE_CRC32_CLMUL
  return kHaveClmul;
#else
  return false;
#endif
}

uint32_t crc32(ByteView bytes) noexcept {
  uint32_t c = 0xFFFFFFFFu;
  const uint8_t* p = bytes.data();
  size_t n = bytes.size();
#ifdef TURNPIKE_CRC32_CLMUL
  if (n >= 64 && kHaveClmul) {
    const size_t blocks = n & ~size_t{15};
    c = update_clmul(c, p, blocks);
    p += blocks;
    n -= blocks;
  }
#endif
  return update_tables(c, p, n) ^ 0xFFFFFFFFu;
}

}  // namespace turnpike::stun
