#include "turnpike/metrics/registry.h"

#include <gtest/gtest.h>

namespace turnpike::metrics {
namespace {

const Family kTestCounter = declare("test_registry_events_total", Kind::kCounter, "Events.");
const Family kTestLabelled = declare("test_registry_by_reason_total", Kind::kCounter, "By reason.",
                                     one_label("reason", {"a", "quo\"te"}));
const Family kTestMax = declare("test_registry_flag", Kind::kGaugeMax, "A flag.");
const Family kTestShared = declare("test_registry_pool", Kind::kShared, "A shared pool.");

TEST(MetricsRegistry, CountsInPlainSlotsAndRendersEveryDeclaredFamily) {
  Counters c;
  c.add(kTestCounter);
  c.add(kTestCounter, 0, 41);
  c.add(kTestLabelled, 1);
  c.set(kTestMax, 1);
  EXPECT_EQ(c.get(kTestCounter), 42u);
  EXPECT_EQ(c.get(kTestLabelled, 0), 0u);
  EXPECT_EQ(c.get(kTestLabelled, 1), 1u);
  const std::string text = render(c);
  EXPECT_NE(text.find("# HELP test_registry_events_total Events.\n"
                      "# TYPE test_registry_events_total counter\n"
                      "test_registry_events_total 42\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("test_registry_by_reason_total{reason=\"a\"} 0\n"
                      "test_registry_by_reason_total{reason=\"quo\\\"te\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("# TYPE test_registry_flag gauge\ntest_registry_flag 1\n"),
            std::string::npos);
}

TEST(MetricsRegistry, MergeAddsCountersTakesTheMaxOfFlagsAndTheLastSharedValue) {
  Counters a;
  Counters b;
  a.add(kTestCounter, 0, 2);
  b.add(kTestCounter, 0, 3);
  a.set(kTestMax, 1);
  b.set(kTestMax, 0);
  a.set(kTestShared, 7);
  b.set(kTestShared, 5);
  a.merge(b);
  EXPECT_EQ(a.get(kTestCounter), 5u);
  EXPECT_EQ(a.get(kTestMax), 1u);
  EXPECT_EQ(a.get(kTestShared), 5u);
}

TEST(MetricsRegistry, DeclaringANameAgainReturnsTheSameSlots) {
  const Family again = declare("test_registry_events_total", Kind::kCounter, "Events.");
  EXPECT_EQ(again.first, kTestCounter.first);
  EXPECT_EQ(again.series, 1u);
  EXPECT_EQ(kTestLabelled.series, 2u);
}

}  // namespace
}  // namespace turnpike::metrics
