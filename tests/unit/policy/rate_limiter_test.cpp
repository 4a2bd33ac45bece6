#include "turnpike/policy/rate_limiter.h"

#include <gtest/gtest.h>

namespace turnpike::policy {
namespace {

TEST(TokenBucket, BurstThenRefuseThenRefill) {
  TokenBucket bucket(10.0, 3.0);  // one token per 100 ms, 3 at most
  const Millis t0 = 5000;
  EXPECT_TRUE(bucket.try_take(t0));
  EXPECT_TRUE(bucket.try_take(t0));
  EXPECT_TRUE(bucket.try_take(t0));
  EXPECT_FALSE(bucket.try_take(t0));
  EXPECT_FALSE(bucket.try_take(t0 + 50));
  EXPECT_EQ(bucket.take_suppressed(), 2u);
  EXPECT_EQ(bucket.take_suppressed(), 0u);
  EXPECT_TRUE(bucket.try_take(t0 + 100));  // 50 ms + 50 ms = one token
  EXPECT_FALSE(bucket.try_take(t0 + 100));
  EXPECT_EQ(bucket.take_suppressed(), 1u);
}

TEST(TokenBucket, RefillCapsAtBurst) {
  TokenBucket bucket(10.0, 2.0);
  EXPECT_TRUE(bucket.try_take(0));
  EXPECT_TRUE(bucket.try_take(0));
  EXPECT_FALSE(bucket.try_take(0));
  // An hour idle refills to the burst, not to 36000 tokens.
  EXPECT_TRUE(bucket.try_take(3'600'000));
  EXPECT_TRUE(bucket.try_take(3'600'000));
  EXPECT_FALSE(bucket.try_take(3'600'000));
}

TEST(TokenBucket, StartsFullAtAnyEpoch) {
  TokenBucket bucket(1.0, 1.0);
  EXPECT_TRUE(bucket.try_take(-42));
  EXPECT_FALSE(bucket.try_take(-42));
  EXPECT_TRUE(bucket.try_take(958));
}

TEST(TokenBucket, TimeGoingBackwardsAddsNothing) {
  TokenBucket bucket(1.0, 1.0);
  EXPECT_TRUE(bucket.try_take(10'000));
  EXPECT_FALSE(bucket.try_take(0));
  EXPECT_FALSE(bucket.try_take(10'500));  // measured from 10'000, not from 0
  EXPECT_TRUE(bucket.try_take(11'000));
}

TEST(TokenBucket, ZeroRateNeverRefills) {
  TokenBucket bucket(0.0, 1.0);
  EXPECT_TRUE(bucket.try_take(0));
  EXPECT_FALSE(bucket.try_take(1'000'000'000));
  TokenBucket empty(5.0, 0.0);
  EXPECT_FALSE(empty.try_take(0));
  EXPECT_FALSE(empty.try_take(10'000));
  EXPECT_EQ(empty.take_suppressed(), 2u);
}

}  // namespace
}  // namespace turnpike::policy
