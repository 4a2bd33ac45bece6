#include "turnpike/metrics/prometheus.h"

#include <gtest/gtest.h>

namespace turnpike::metrics {
namespace {

TEST(PrometheusWriter, FamiliesSamplesAndEscaping) {
  PrometheusWriter w;
  w.family("turnpike_relayed_packets_total", "counter", "Packets relayed.\nSecond line \\ end");
  w.sample("turnpike_relayed_packets_total", uint64_t{42},
           {{"direction", "to_peer"}, {"transport", "udp"}});
  w.sample("turnpike_relayed_packets_total", uint64_t{0}, {{"reason", "a\"b\\c\nd"}});
  w.family("turnpike_up", "gauge", "Serving.");
  w.sample("turnpike_up", 1.0);
  EXPECT_EQ(w.text(),
            "# HELP turnpike_relayed_packets_total Packets relayed.\\nSecond line \\\\ end\n"
            "# TYPE turnpike_relayed_packets_total counter\n"
            "turnpike_relayed_packets_total{direction=\"to_peer\",transport=\"udp\"} 42\n"
            "turnpike_relayed_packets_total{reason=\"a\\\"b\\\\c\\nd\"} 0\n"
            "# HELP turnpike_up Serving.\n"
            "# TYPE turnpike_up gauge\n"
            "turnpike_up 1\n");
}

}  // namespace
}  // namespace turnpike::metrics
