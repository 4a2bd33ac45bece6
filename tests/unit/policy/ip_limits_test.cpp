#include "turnpike/policy/ip_limits.h"

#include <gtest/gtest.h>

#include <string_view>

namespace turnpike::policy {
namespace {

IpAddress ip(std::string_view text) {
  const auto parsed = IpAddress::parse(text);
  EXPECT_TRUE(parsed.has_value()) << text;
  return parsed.value_or(IpAddress{});
}

IpAddress v4(uint32_t n) {
  return IpAddress::v4(static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
                       static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n));
}

// ---- source keys

TEST(SourceKey, Ipv4FormsShareTheirKey) {
  EXPECT_EQ(source_key(ip("192.0.2.1")), source_key(ip("::ffff:192.0.2.1")));
  EXPECT_EQ(source_key(ip("192.0.2.1")), source_key(ip("64:ff9b::c000:201")));
  EXPECT_NE(source_key(ip("192.0.2.1")), source_key(ip("192.0.2.2")));
}

TEST(SourceKey, Ipv6CountsPerSlash64) {
  EXPECT_EQ(source_key(ip("2001:db8:1:2::1")), source_key(ip("2001:db8:1:2:ffff::9")));
  EXPECT_NE(source_key(ip("2001:db8:1:2::1")), source_key(ip("2001:db8:1:3::1")));
  // IPv4 keys are those of ffff:ffff::/32, multicast space: never the source of a request.
  EXPECT_EQ(source_key(ip("0.0.0.1")) >> 32, 0xFFFF'FFFFU);
}

// ---- RateBucket

TEST(RateBucket, StartsFullThenRefillsAtTheRate) {
  RateBucket b;
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(b.try_take(1, 1000, 50, 100)) << i;
  EXPECT_FALSE(b.try_take(1, 1000, 50, 100));
  EXPECT_FALSE(b.try_take(1, 1019, 50, 100));  // 50/s: one token per 20 ms
  EXPECT_TRUE(b.try_take(1, 1020, 50, 100));
  EXPECT_FALSE(b.try_take(1, 1020, 50, 100));
  // A long pause refills to the burst, never beyond.
  int taken = 0;
  while (b.try_take(1, 1'000'000, 50, 100)) ++taken;
  EXPECT_EQ(taken, 100);
}

TEST(RateBucket, CostsInBytesAreExactWithIntegerMath) {
  RateBucket b;
  const uint64_t rate = 1'000'000;  // 1 MB/s, burst 1 MB
  EXPECT_TRUE(b.try_take(1'000'000, 0, rate, rate));
  EXPECT_FALSE(b.try_take(1, 0, rate, rate));
  // 1 ms later: exactly 1000 bytes.
  EXPECT_FALSE(b.try_take(1001, 1, rate, rate));
  EXPECT_TRUE(b.try_take(1000, 1, rate, rate));
  // Many small steps add up without rounding loss: 1000 x 1 ms = 1 MB.
  for (Millis t = 2; t <= 1001; ++t) ASSERT_TRUE(b.try_take(1000, t, rate, rate)) << t;
}

TEST(RateBucket, HugeGapsAndRatesDoNotOverflow) {
  RateBucket b;
  const uint64_t rate = 100'000'000'000ULL;
  EXPECT_TRUE(b.try_take(rate, 0, rate, rate));
  EXPECT_TRUE(b.try_take(rate, INT64_MAX / 2, rate, rate));
  EXPECT_FALSE(b.try_take(1, INT64_MAX / 2, rate, rate));
  EXPECT_FALSE(b.try_take(1, 0, rate, rate));  // time going backwards adds nothing
}

TEST(RateBucket, ZeroRateNeverRefills) {
  RateBucket b;
  EXPECT_TRUE(b.try_take(2, 0, 0, 2));
  EXPECT_FALSE(b.try_take(1, 1'000'000, 0, 2));
}

// ---- IpRateLimiter

TEST(IpRateLimiter, LimitsEachSourceSeparately) {
  IpRateLimiter limiter(50, 100, 1024, 1);
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limiter.allow(ip("198.51.100.1"), 0));
  EXPECT_FALSE(limiter.allow(ip("198.51.100.1"), 0));
  EXPECT_FALSE(limiter.allow(ip("::ffff:198.51.100.1"), 0));  // the same source
  EXPECT_TRUE(limiter.allow(ip("198.51.100.2"), 0));          // another one is not affected
  EXPECT_TRUE(limiter.allow(ip("198.51.100.1"), 20));         // refilled: one per 20 ms
  EXPECT_EQ(limiter.size(), 2U);
}

TEST(IpRateLimiter, Ipv6HostsOfOneSlash64ShareABucket) {
  IpRateLimiter limiter(1, 3, 64, 7);
  EXPECT_TRUE(limiter.allow(ip("2001:db8::1"), 0));
  EXPECT_TRUE(limiter.allow(ip("2001:db8::2"), 0));
  EXPECT_TRUE(limiter.allow(ip("2001:db8::3"), 0));
  EXPECT_FALSE(limiter.allow(ip("2001:db8::4"), 0));
  EXPECT_TRUE(limiter.allow(ip("2001:db8:0:1::1"), 0));
}

TEST(IpRateLimiter, DisabledAllowsEverythingAndKeepsNoTable) {
  IpRateLimiter limiter(0, 100, 1 << 20, 1);
  EXPECT_FALSE(limiter.enabled());
  EXPECT_EQ(limiter.capacity(), 0U);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(limiter.allow(ip("198.51.100.1"), 0));
}

TEST(IpRateLimiter, TableNeverGrowsUnderAnAddressSpray) {
  IpRateLimiter limiter(50, 100, 256, 42);
  ASSERT_EQ(limiter.capacity(), 256U);
  for (uint32_t i = 0; i < 200'000; ++i) limiter.allow(v4(0x0A000000 + i), i / 100);
  EXPECT_LE(limiter.size(), limiter.capacity());
  EXPECT_GT(limiter.evictions(), 100'000U);
  // A source that is being limited stays limited while it keeps sending, even while a spray of
  // new addresses goes on in the same millisecond: entries with tokens left are evicted first.
  const IpAddress heavy = ip("203.0.113.9");
  for (int i = 0; i < 100; ++i) limiter.allow(heavy, 5000);
  for (uint32_t i = 0; i < 10'000; ++i) {
    limiter.allow(v4(0x0B000000 + i), 5000);
    if (i % 100 == 0) {
      EXPECT_FALSE(limiter.allow(heavy, 5000)) << i;
    }
  }
}

TEST(IpRateLimiter, SlotsRoundUpToAPowerOfTwo) {
  EXPECT_EQ(IpRateLimiter(1, 1, 1000, 0).capacity(), 1024U);
  EXPECT_EQ(IpRateLimiter(1, 1, 1, 0).capacity(), 64U);
}

// ---- ConnectionCounter

TEST(ConnectionCounter, PerIpLimitThenTotalLimit) {
  ConnectionCounter c(5, 2);
  using V = ConnectionCounter::Verdict;
  EXPECT_EQ(c.try_add(ip("192.0.2.1")), V::kAccepted);
  EXPECT_EQ(c.try_add(ip("192.0.2.1")), V::kAccepted);
  EXPECT_EQ(c.try_add(ip("::ffff:192.0.2.1")), V::kPerIpLimit);
  EXPECT_EQ(c.try_add(ip("192.0.2.2")), V::kAccepted);
  EXPECT_EQ(c.try_add(ip("192.0.2.3")), V::kAccepted);
  EXPECT_EQ(c.try_add(ip("192.0.2.4")), V::kAccepted);
  EXPECT_EQ(c.try_add(ip("192.0.2.5")), V::kTotalLimit);
  EXPECT_EQ(c.total(), 5U);
  c.remove(ip("192.0.2.1"));
  EXPECT_EQ(c.count_for(ip("192.0.2.1")), 1U);
  EXPECT_EQ(c.try_add(ip("192.0.2.1")), V::kAccepted);
}

TEST(ConnectionCounter, EntriesGoAwayAtZero) {
  ConnectionCounter c(0, 0);  // no limits
  for (uint32_t i = 0; i < 1000; ++i) {
    ASSERT_EQ(c.try_add(v4(i)), ConnectionCounter::Verdict::kAccepted);
  }
  EXPECT_EQ(c.sources(), 1000U);
  for (uint32_t i = 0; i < 1000; ++i) c.remove(v4(i));
  EXPECT_EQ(c.sources(), 0U);
  EXPECT_EQ(c.total(), 0U);
}

TEST(ConnectionCounter, SourceLearnedLaterFromAProxyHeader) {
  ConnectionCounter c(10, 1);
  ASSERT_EQ(c.try_add(std::nullopt), ConnectionCounter::Verdict::kAccepted);  // via the proxy
  ASSERT_EQ(c.try_add(std::nullopt), ConnectionCounter::Verdict::kAccepted);
  EXPECT_EQ(c.sources(), 0U);
  EXPECT_TRUE(c.attach(ip("198.51.100.7")));
  EXPECT_FALSE(c.attach(ip("198.51.100.7")));  // the second one is over the per-IP limit
  c.remove(std::nullopt);
  c.remove(ip("198.51.100.7"));
  EXPECT_EQ(c.total(), 0U);
  EXPECT_EQ(c.sources(), 0U);
}

// A token taken for a request that then authenticated is given back (never above the burst).
TEST(IpRateLimiter, RefundGivesTheTokenBack) {
  IpRateLimiter limiter(1, 2, 64, 7);
  const IpAddress a = ip("198.51.100.1");
  ASSERT_TRUE(limiter.allow(a, 1000));
  ASSERT_TRUE(limiter.allow(a, 1000));
  EXPECT_FALSE(limiter.allow(a, 1000));
  limiter.refund(a, 1000);
  EXPECT_TRUE(limiter.allow(a, 1000));
  EXPECT_FALSE(limiter.allow(a, 1000));
  for (int i = 0; i < 10; ++i) limiter.refund(a, 1000);  // capped at the burst
  EXPECT_TRUE(limiter.allow(a, 1000));
  EXPECT_TRUE(limiter.allow(a, 1000));
  EXPECT_FALSE(limiter.allow(a, 1000));
  limiter.refund(ip("198.51.100.2"), 1000);  // unknown source: nothing happens
  EXPECT_EQ(limiter.size(), 1U);
}

}  // namespace
}  // namespace turnpike::policy
