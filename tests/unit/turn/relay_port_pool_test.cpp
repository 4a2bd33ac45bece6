#include "turnpike/turn/relay_port_pool.h"

#include <gtest/gtest.h>

#include <set>

namespace turnpike::turn {
namespace {

TEST(RelayPortPool, HandsOutEveryPortOnceThenRunsOut) {
  RelayPortPool pool(50000, 50009);
  std::set<uint16_t> seen;
  for (int i = 0; i < 10; ++i) {
    const auto port = pool.acquire(false);
    ASSERT_TRUE(port);
    EXPECT_GE(*port, 50000);
    EXPECT_LE(*port, 50009);
    EXPECT_TRUE(seen.insert(*port).second);
  }
  EXPECT_FALSE(pool.acquire(false));
  pool.release(50003);
  EXPECT_EQ(pool.acquire(false), 50003);
}

TEST(RelayPortPool, EvenPortsAreEven) {
  RelayPortPool pool(50001, 50020);
  for (int i = 0; i < 10; ++i) {
    const auto port = pool.acquire(true);
    ASSERT_TRUE(port);
    EXPECT_EQ(*port % 2, 0);
  }
  EXPECT_FALSE(pool.acquire(true));  // only odd ports left
  EXPECT_TRUE(pool.acquire(false));
}

TEST(RelayPortPool, PairFindsTheOnlyFreeEvenOddPair) {
  // Regression: EVEN-PORT with R=1 must find a pair wherever it is, not fail on the first even
  // port whose successor is taken.
  RelayPortPool pool(50000, 50009);
  for (uint16_t p = 50000; p <= 50009; ++p) ASSERT_TRUE(pool.acquire_specific(p));
  pool.release(50006);
  pool.release(50007);
  pool.release(50002);  // an even port whose successor is in use
  for (int round = 0; round < 5; ++round) {
    const auto port = pool.acquire_pair();
    ASSERT_EQ(port, 50006);
    EXPECT_FALSE(pool.acquire_specific(50006));  // in use
    EXPECT_TRUE(pool.acquire_specific(50007));   // reserved: a RESERVATION-TOKEN can redeem it
    pool.release(50006);
    pool.release(50007);
  }
  EXPECT_EQ(pool.free_count(), 3U);
  ASSERT_TRUE(pool.acquire_pair());
  EXPECT_FALSE(pool.acquire_pair());  // 50002 alone is left
}

}  // namespace
}  // namespace turnpike::turn
