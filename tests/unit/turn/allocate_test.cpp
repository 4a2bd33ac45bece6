// turn::Server: the Allocate request (RFC 8656 §7.2) — relayed address, lifetime, retransmissions,
// attribute checks in the RFC's order, quotas, EVEN-PORT / RESERVATION-TOKEN, advertised address.
#include <gtest/gtest.h>

#include "support/test_client.h"

namespace turnpike::testing {
namespace {

using stun::Method;
namespace attr = stun::attr;
namespace err = stun::error;

const FiveTuple kClient = udp_tuple("198.51.100.10:40000");

TEST(Allocate, SuccessCarriesRelayedAddressLifetimeAndMappedAddress) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.allocate();
  ASSERT_TRUE(r.is_success()) << r.error;
  EXPECT_EQ(r.method, Method::kAllocate);
  ASSERT_TRUE(r.relayed);
  EXPECT_EQ(*r.relayed, address("203.0.113.7:50000"));  // what FakeRelays opened
  ASSERT_TRUE(r.lifetime);
  EXPECT_EQ(*r.lifetime, 600u);  // default when LIFETIME is absent
  ASSERT_TRUE(r.mapped);
  EXPECT_EQ(*r.mapped, kClient.client);
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
  EXPECT_TRUE(r.has_fingerprint);
  EXPECT_EQ(h.server.allocation_count(), 1u);
  ASSERT_EQ(h.relays.open_calls.size(), 1u);
  EXPECT_EQ(h.relays.open_calls[0].family, Family::kIPv4);
  EXPECT_FALSE(h.relays.open_calls[0].even_port);
  EXPECT_EQ(h.observer.created, 1u);
}

TEST(Allocate, LifetimeIsClampedToTheMaximum) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.allocate_with_lifetime(10'000);
  ASSERT_TRUE(r.is_success());
  EXPECT_EQ(r.lifetime, 3600u);
}

TEST(Allocate, LifetimeBelowTheDefaultGetsTheDefault) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.allocate_with_lifetime(60);  // RFC 8656 §7.2: never below the default
  ASSERT_TRUE(r.is_success());
  EXPECT_EQ(r.lifetime, 600u);
}

TEST(Allocate, LifetimeBetweenDefaultAndMaximumIsKept) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.allocate_with_lifetime(1200);
  ASSERT_TRUE(r.is_success());
  EXPECT_EQ(r.lifetime, 1200u);
}

TEST(Allocate, RetransmissionGetsTheSameSuccessWithoutASecondRelay) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.send_once(Method::kRefresh, {}, false).is_error(err::kUnauthorized));
  const Bytes request = c.build(
      Method::kAllocate, TestClient::next_transaction_id(),
      [](stun::MessageBuilder& b) {
        b.add(attr::kRequestedTransport, TestClient::requested_transport(17));
      },
      true);
  const Reply first = c.exchange(request);
  const Reply again = c.exchange(request);
  ASSERT_TRUE(first.is_success()) << first.error;
  ASSERT_TRUE(again.is_success()) << again.error;
  EXPECT_EQ(again.relayed, first.relayed);
  EXPECT_EQ(again.lifetime, first.lifetime);
  EXPECT_EQ(again.integrity, stun::IntegrityStatus::kOk);
  EXPECT_EQ(h.relays.open_calls.size(), 1u);
  EXPECT_EQ(h.server.allocation_count(), 1u);
}

TEST(Allocate, AnotherTransactionOnTheSameFiveTupleGets437) {
  Harness h;
  TestClient c(h, kClient);
  ASSERT_TRUE(c.allocate().is_success());
  const Reply r = c.allocate();
  EXPECT_TRUE(r.is_error(err::kAllocationMismatch));
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);  // authenticated errors carry MI
  EXPECT_EQ(h.relays.open_calls.size(), 1u);
}

TEST(Allocate, MissingRequestedTransportGets400) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.request(Method::kAllocate);
  EXPECT_TRUE(r.is_error(err::kBadRequest));
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

TEST(Allocate, TcpRequestedTransportGets442) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.request(Method::kAllocate, [](stun::MessageBuilder& b) {
    b.add(attr::kRequestedTransport, TestClient::requested_transport(6));
  });
  EXPECT_TRUE(r.is_error(err::kUnsupportedTransportProtocol));
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

TEST(Allocate, DontFragmentGets420) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.allocate([](stun::MessageBuilder& b) { b.add(attr::kDontFragment, {}); });
  ASSERT_TRUE(r.is_error(err::kUnknownAttribute));
  EXPECT_EQ(r.unknown_attributes, std::vector<uint16_t>{attr::kDontFragment});
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

TEST(Allocate, Ipv6FamilyWithoutIpv6RelayGets440) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.allocate([](stun::MessageBuilder& b) {
    b.add(attr::kRequestedAddressFamily, TestClient::address_family(Family::kIPv6));
  });
  EXPECT_TRUE(r.is_error(err::kAddressFamilyNotSupported));
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

TEST(Allocate, Ipv6FamilyWithIpv6RelayGetsAnIpv6Address) {
  HarnessOptions o;
  o.config.ipv6_relay = true;
  Harness h(o);
  TestClient c(h, kClient);
  const Reply r = c.allocate([](stun::MessageBuilder& b) {
    b.add(attr::kRequestedAddressFamily, TestClient::address_family(Family::kIPv6));
  });
  ASSERT_TRUE(r.is_success()) << r.error;
  ASSERT_TRUE(r.relayed);
  EXPECT_EQ(*r.relayed, address("[2a01:4f8::7]:50000"));
  ASSERT_EQ(h.relays.open_calls.size(), 1u);
  EXPECT_EQ(h.relays.open_calls[0].family, Family::kIPv6);
}

TEST(Allocate, ReservationTokenWithEvenPortGets400) {
  Harness h;
  TestClient c(h, kClient);
  const uint8_t token[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const uint8_t even_port[1] = {0x00};
  const Reply r = c.allocate([&](stun::MessageBuilder& b) {
    b.add(attr::kReservationToken, token);
    b.add(attr::kEvenPort, even_port);
  });
  EXPECT_TRUE(r.is_error(err::kBadRequest));
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

// RFC 8656 §7.2 step 5: RESERVATION-TOKEN with EVEN-PORT *or REQUESTED-ADDRESS-FAMILY or
// ADDITIONAL-ADDRESS-FAMILY* gets 400.
TEST(Allocate, ReservationTokenWithAdditionalAddressFamilyGets400) {
  Harness h;
  TestClient holder(h, udp_tuple("198.51.100.20:40000"));
  const uint8_t even_port_r[1] = {0x80};
  const Reply held =
      holder.allocate([&](stun::MessageBuilder& b) { b.add(attr::kEvenPort, even_port_r); });
  ASSERT_TRUE(held.is_success());
  ASSERT_TRUE(held.reservation_token);
  TestClient c(h, kClient);
  const Reply r = c.allocate([&](stun::MessageBuilder& b) {
    b.add(attr::kReservationToken, *held.reservation_token);
    b.add(attr::kAdditionalAddressFamily, TestClient::address_family(Family::kIPv6));
  });
  EXPECT_TRUE(r.is_error(err::kBadRequest)) << "RFC 8656 §7.2 step 5 wants 400; got "
                                            << (r.is_success() ? "success" : "error ") << r.error;
}

// RFC 8656 §7.2 step 8: EVEN-PORT with R=1 together with ADDITIONAL-ADDRESS-FAMILY gets 400.
TEST(Allocate, EvenPortReserveWithAdditionalAddressFamilyGets400) {
  Harness h;
  TestClient c(h, kClient);
  const uint8_t even_port_r[1] = {0x80};
  const Reply r = c.allocate([&](stun::MessageBuilder& b) {
    b.add(attr::kEvenPort, even_port_r);
    b.add(attr::kAdditionalAddressFamily, TestClient::address_family(Family::kIPv6));
  });
  EXPECT_TRUE(r.is_error(err::kBadRequest)) << "RFC 8656 §7.2 step 8 wants 400; got "
                                            << (r.is_success() ? "success" : "error ") << r.error;
}

TEST(Allocate, PerUserQuotaGets486) {
  HarnessOptions o;
  o.config.max_allocations_per_user = 2;
  Harness h(o);
  TestClient a(h, udp_tuple("198.51.100.10:40001"));
  TestClient b(h, udp_tuple("198.51.100.10:40002"));
  TestClient c(h, udp_tuple("198.51.100.10:40003"));
  TestClient bob(h, udp_tuple("198.51.100.10:40004"), std::string(kBob), std::string(kBobPassword));
  ASSERT_TRUE(a.allocate().is_success());
  ASSERT_TRUE(b.allocate().is_success());
  EXPECT_TRUE(c.allocate().is_error(err::kAllocationQuotaReached));
  EXPECT_TRUE(bob.allocate().is_success());  // the quota is per user
  EXPECT_EQ(h.server.allocation_count(), 3u);
}

TEST(Allocate, ServerQuotaGets508) {
  HarnessOptions o;
  o.config.max_allocations = 1;
  Harness h(o);
  TestClient a(h, udp_tuple("198.51.100.10:40001"));
  TestClient bob(h, udp_tuple("198.51.100.11:40001"), std::string(kBob), std::string(kBobPassword));
  ASSERT_TRUE(a.allocate().is_success());
  EXPECT_TRUE(bob.allocate().is_error(err::kInsufficientCapacity));
  EXPECT_EQ(h.server.allocation_count(), 1u);
}

TEST(Allocate, RelayPortsExhaustedGets508) {
  Harness h;
  h.relays.capacity = 1;
  TestClient a(h, udp_tuple("198.51.100.10:40001"));
  TestClient b(h, udp_tuple("198.51.100.10:40002"));
  ASSERT_TRUE(a.allocate().is_success());
  const Reply r = b.allocate();
  EXPECT_TRUE(r.is_error(err::kInsufficientCapacity));
  EXPECT_EQ(r.integrity, stun::IntegrityStatus::kOk);
  EXPECT_EQ(h.server.allocation_count(), 1u);
  // Nothing was left behind by the failed attempt: with room again, b allocates.
  h.relays.capacity = 2;
  EXPECT_TRUE(b.allocate().is_success());
}

TEST(Allocate, EvenPortWithReserveBitHoldsTheNextPortForAToken) {
  Harness h;
  h.relays.next_port = 50001;  // odd: EVEN-PORT must skip it
  TestClient a(h, udp_tuple("198.51.100.10:40001"));
  const uint8_t even_port_r[1] = {0x80};
  const Reply r = a.allocate([&](stun::MessageBuilder& b) { b.add(attr::kEvenPort, even_port_r); });
  ASSERT_TRUE(r.is_success()) << r.error;
  ASSERT_TRUE(r.relayed);
  EXPECT_EQ(r.relayed->port % 2, 0);
  ASSERT_EQ(h.relays.open_calls.size(), 1u);
  EXPECT_TRUE(h.relays.open_calls[0].even_port);
  ASSERT_TRUE(r.reservation_token);
  EXPECT_EQ(r.reservation_token->size(), 8u);
  const auto next = static_cast<uint16_t>(r.relayed->port + 1);
  EXPECT_TRUE(h.relays.is_reserved(Family::kIPv4, next));

  TestClient b(h, udp_tuple("198.51.100.10:40002"));
  const Reply second = b.allocate(
      [&](stun::MessageBuilder& mb) { mb.add(attr::kReservationToken, *r.reservation_token); });
  ASSERT_TRUE(second.is_success()) << second.error;
  ASSERT_TRUE(second.relayed);
  EXPECT_EQ(second.relayed->port, next);
  EXPECT_FALSE(h.relays.is_reserved(Family::kIPv4, next));
  EXPECT_FALSE(second.reservation_token);

  // A token is good for one allocation only.
  TestClient c(h, udp_tuple("198.51.100.10:40003"));
  EXPECT_TRUE(c.allocate([&](stun::MessageBuilder& mb) {
                 mb.add(attr::kReservationToken, *r.reservation_token);
               }).is_error(err::kInsufficientCapacity));
}

TEST(Allocate, EvenPortWithoutReserveBitHoldsNothing) {
  Harness h;
  h.relays.next_port = 50001;
  TestClient a(h, kClient);
  const uint8_t even_port[1] = {0x00};
  const Reply r = a.allocate([&](stun::MessageBuilder& b) { b.add(attr::kEvenPort, even_port); });
  ASSERT_TRUE(r.is_success());
  EXPECT_EQ(r.relayed->port, 50002);
  EXPECT_FALSE(r.reservation_token);
  EXPECT_TRUE(h.relays.reserved.empty());
}

TEST(Allocate, ReservationIsReleasedWhenItsAllocationIsDeleted) {
  Harness h;
  TestClient a(h, kClient);
  const uint8_t even_port_r[1] = {0x80};
  const Reply r = a.allocate([&](stun::MessageBuilder& b) { b.add(attr::kEvenPort, even_port_r); });
  ASSERT_TRUE(r.is_success());
  ASSERT_FALSE(h.relays.reserved.empty());
  ASSERT_TRUE(a.refresh(0).is_success());
  EXPECT_TRUE(h.relays.reserved.empty());
}

TEST(Allocate, ReservationIsReleasedAfter30Seconds) {
  Harness h;
  TestClient a(h, udp_tuple("198.51.100.10:40001"));
  const uint8_t even_port_r[1] = {0x80};
  const Reply r = a.allocate([&](stun::MessageBuilder& b) { b.add(attr::kEvenPort, even_port_r); });
  ASSERT_TRUE(r.is_success());
  ASSERT_TRUE(r.reservation_token);
  EXPECT_EQ(h.server.next_deadline(), h.now().mono_ms + 30'000);
  h.advance_s(30);
  h.tick();
  EXPECT_TRUE(h.relays.reserved.empty());
  EXPECT_EQ(h.server.allocation_count(), 1u);
  TestClient b(h, udp_tuple("198.51.100.10:40002"));
  EXPECT_TRUE(b.allocate([&](stun::MessageBuilder& mb) {
                 mb.add(attr::kReservationToken, *r.reservation_token);
               }).is_error(err::kInsufficientCapacity));
}

TEST(Allocate, UnknownReservationTokenGets508) {
  Harness h;
  TestClient c(h, kClient);
  const uint8_t token[8] = {0xde, 0xad, 0xbe, 0xef, 0, 0, 0, 1};
  const Reply r =
      c.allocate([&](stun::MessageBuilder& b) { b.add(attr::kReservationToken, token); });
  EXPECT_TRUE(r.is_error(err::kInsufficientCapacity));
  EXPECT_EQ(h.server.allocation_count(), 0u);
}

TEST(Allocate, AdvertisedAddressIsReportedWithTheRelayPort) {
  HarnessOptions o;
  o.config.advertised_ipv4 = IpAddress::v4(198, 51, 100, 200);
  Harness h(o);
  TestClient c(h, kClient);
  const Reply r = c.allocate();
  ASSERT_TRUE(r.is_success());
  ASSERT_TRUE(r.relayed);
  EXPECT_EQ(*r.relayed, address("198.51.100.200:50000"));
}

TEST(Allocate, AdditionalIpv6FamilyIsRefusedWithAddressErrorCode) {
  Harness h;
  TestClient c(h, kClient);
  const Reply r = c.allocate([](stun::MessageBuilder& b) {
    b.add(attr::kAdditionalAddressFamily, TestClient::address_family(Family::kIPv6));
  });
  ASSERT_TRUE(r.is_success()) << r.error;
  ASSERT_TRUE(r.relayed);
  EXPECT_EQ(r.relayed->family(), Family::kIPv4);
  ASSERT_TRUE(r.address_error_code);
  ASSERT_GE(r.address_error_code->size(), 4u);
  EXPECT_EQ((*r.address_error_code)[0], 0x02);  // IPv6
  EXPECT_EQ((*r.address_error_code)[2] & 0x07, 4);
  EXPECT_EQ((*r.address_error_code)[3], 40);
}

TEST(Allocate, MalformedLifetimeGets400AndClosesTheRelay) {
  Harness h;
  TestClient c(h, kClient);
  const uint8_t short_lifetime[2] = {0, 1};
  const Reply r =
      c.allocate([&](stun::MessageBuilder& b) { b.add(attr::kLifetime, short_lifetime); });
  EXPECT_TRUE(r.is_error(err::kBadRequest));
  EXPECT_EQ(h.server.allocation_count(), 0u);
  EXPECT_TRUE(h.relays.open_relays.empty());
}

// A token is redeemed only by an Allocate that succeeds: one refused at step 9 (quota) leaves it
// good for another try.
TEST(Allocate, ReservationTokenSurvivesAnAllocateRefusedForQuota) {
  HarnessOptions o;
  o.config.max_allocations_per_user = 1;
  Harness h(o);
  TestClient holder(h, udp_tuple("198.51.100.10:40001"));
  const uint8_t even_port_r[1] = {0x80};
  const Reply r =
      holder.allocate([&](stun::MessageBuilder& b) { b.add(attr::kEvenPort, even_port_r); });
  ASSERT_TRUE(r.is_success());
  ASSERT_TRUE(r.reservation_token);
  const auto redeem = [&](stun::MessageBuilder& mb) {
    mb.add(attr::kReservationToken, *r.reservation_token);
  };
  TestClient alice(h, udp_tuple("198.51.100.10:40002"));
  EXPECT_TRUE(alice.allocate(redeem).is_error(err::kAllocationQuotaReached));
  TestClient bob(h, udp_tuple("198.51.100.10:40003"), std::string(kBob), std::string(kBobPassword));
  const Reply second = bob.allocate(redeem);
  ASSERT_TRUE(second.is_success()) << second.error;
  EXPECT_EQ(second.relayed->port, r.relayed->port + 1);
}

// Two workers of one daemon share the registry: a token minted by one is redeemed by the other,
// once; the holder keeps its timer and lets the (now used) port go at 30 s without touching it.
TEST(Allocate, ReservationTokenIsRedeemedOnAnotherWorker) {
  Harness first;
  HarnessOptions o;
  o.reservations = &first.relays;
  Harness second(o);
  TestClient holder(first, udp_tuple("198.51.100.10:40001"));
  const uint8_t even_port_r[1] = {0x80};
  const Reply r =
      holder.allocate([&](stun::MessageBuilder& b) { b.add(attr::kEvenPort, even_port_r); });
  ASSERT_TRUE(r.is_success());
  ASSERT_TRUE(r.reservation_token);
  const auto next = static_cast<uint16_t>(r.relayed->port + 1);
  const auto redeem = [&](stun::MessageBuilder& mb) {
    mb.add(attr::kReservationToken, *r.reservation_token);
  };
  TestClient c(second, udp_tuple("198.51.100.10:40002"));
  const Reply redeemed = c.allocate(redeem);
  ASSERT_TRUE(redeemed.is_success()) << redeemed.error;
  EXPECT_EQ(redeemed.relayed->port, next);
  // Good once, on either worker.
  TestClient again(first, udp_tuple("198.51.100.10:40003"));
  EXPECT_TRUE(again.allocate(redeem).is_error(err::kInsufficientCapacity));
  EXPECT_EQ(first.server.next_deadline(), first.now().mono_ms + 30'000);
  first.advance_s(30);
  first.tick();
  ASSERT_EQ(first.relays.released.size(), 1u);
  EXPECT_EQ(first.relays.released[0], std::make_pair(Family::kIPv4, next));
  EXPECT_TRUE(first.relays.tokens.empty());
}

}  // namespace
}  // namespace turnpike::testing
