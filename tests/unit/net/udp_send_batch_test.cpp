// UdpSendBatch against real loopback sockets: what is queued arrives, whole, in order per socket,
// with and without UDP GSO, borrowed or copied.
#include "turnpike/net/udp_send_batch.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

namespace turnpike::net {
namespace {

class Socket {
 public:
  Socket() : fd_(socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t length = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &length);
    port_ = ntohs(a.sin_port);
    const int big = 1 << 20;
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  }
  ~Socket() { close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  [[nodiscard]] int fd() const { return fd_; }
  [[nodiscard]] SocketAddress address() const {
    return SocketAddress{*IpAddress::parse("127.0.0.1"), port_};
  }
  // Every datagram waiting (bounded wait for the first), with the sender's port.
  std::vector<std::pair<uint16_t, std::vector<uint8_t>>> drain() const {
    std::vector<std::pair<uint16_t, std::vector<uint8_t>>> out;
    pollfd p{fd_, POLLIN, 0};
    poll(&p, 1, 1000);
    std::vector<uint8_t> buffer(70000);
    for (;;) {
      sockaddr_in from{};
      socklen_t length = sizeof from;
      const ssize_t n = recvfrom(fd_, buffer.data(), buffer.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &length);
      if (n < 0) {
        pollfd again{fd_, POLLIN, 0};
        if (poll(&again, 1, 50) > 0) continue;
        break;
      }
      out.emplace_back(ntohs(from.sin_port),
                       std::vector<uint8_t>(buffer.begin(), buffer.begin() + n));
    }
    return out;
  }
  [[nodiscard]] uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_ = 0;
};

std::vector<uint8_t> payload(size_t size, uint8_t tag) {
  std::vector<uint8_t> p(size);
  for (size_t i = 0; i < size; ++i) p[i] = static_cast<uint8_t>(tag + i);
  return p;
}

TEST(UdpSendBatch, SameSizeDatagramsToOneAddressArriveWholeAndInOrder) {
  Socket sender;
  Socket receiver;
  UdpSendBatch batch;
  std::vector<std::vector<uint8_t>> sent;
  for (uint8_t i = 0; i < 10; ++i) sent.push_back(payload(200, i));
  sent.push_back(payload(57, 99));  // a shorter last datagram may close a GSO run
  for (const auto& p : sent) batch.queue(sender.fd(), receiver.address(), p);
  EXPECT_FALSE(batch.empty());
  batch.flush();
  EXPECT_TRUE(batch.empty());
  const auto got = receiver.drain();
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(got[i].first, sender.port());
    EXPECT_EQ(got[i].second, sent[i]) << "datagram " << i;
  }
  EXPECT_EQ(batch.stats().datagrams, sent.size());
  EXPECT_EQ(batch.stats().errors, 0u);
  EXPECT_EQ(batch.stats().syscalls, 1u);  // one sendmmsg (one GSO message, or 11 messages)
  if (batch.gso_enabled()) {
    EXPECT_EQ(batch.stats().gso_messages, 1u);
  }
}

TEST(UdpSendBatch, WithoutGsoEveryDatagramIsItsOwnMessage) {
  Socket sender;
  Socket receiver;
  UdpSendBatch batch;
  batch.disable_gso();
  std::vector<std::vector<uint8_t>> sent;
  for (uint8_t i = 0; i < 5; ++i) sent.push_back(payload(300, i));
  for (const auto& p : sent) batch.queue(sender.fd(), receiver.address(), p);
  batch.flush();
  const auto got = receiver.drain();
  ASSERT_EQ(got.size(), sent.size());
  for (size_t i = 0; i < sent.size(); ++i) EXPECT_EQ(got[i].second, sent[i]);
  EXPECT_EQ(batch.stats().gso_messages, 0u);
  EXPECT_EQ(batch.stats().syscalls, 1u);
}

TEST(UdpSendBatch, OrderIsKeptPerSocketAndDestinationsAreNotMixedUp) {
  Socket a;
  Socket b;
  Socket to_x;
  Socket to_y;
  UdpSendBatch batch;
  // Interleaved sockets and destinations, equal sizes: GSO must never merge across either.
  for (uint8_t i = 0; i < 12; ++i) {
    const Socket& from = i % 2 == 0 ? a : b;
    const Socket& to = i % 3 == 0 ? to_x : to_y;
    batch.queue(from.fd(), to.address(), payload(100, i));
  }
  batch.flush();
  const auto x = to_x.drain();
  const auto y = to_y.drain();
  ASSERT_EQ(x.size(), 4u);
  ASSERT_EQ(y.size(), 8u);
  // Per sender, the datagrams each receiver got are in queue order.
  for (const auto* got : {&x, &y}) {
    int last_a = -1;
    int last_b = -1;
    for (const auto& [port, bytes] : *got) {
      const int tag = bytes[0];
      const int expected_to = tag % 3 == 0 ? 0 : 1;
      EXPECT_EQ(got == &x ? 0 : 1, expected_to) << "tag " << tag;
      EXPECT_EQ(port, tag % 2 == 0 ? a.port() : b.port()) << "tag " << tag;
      int& last = tag % 2 == 0 ? last_a : last_b;
      EXPECT_GT(tag, last);
      last = tag;
      EXPECT_EQ(bytes, payload(100, static_cast<uint8_t>(tag)));
    }
  }
  EXPECT_EQ(batch.stats().datagrams, 12u);
}

TEST(UdpSendBatch, BorrowedBytesAreSentFromWhereTheyAreCopiedOnesAreSnapshotted) {
  Socket sender;
  Socket receiver;
  UdpSendBatch batch;
  std::vector<uint8_t> region = payload(1000, 1);
  batch.set_borrowable(region.data(), region.data() + region.size());
  std::vector<uint8_t> scratch = payload(100, 7);
  batch.queue(sender.fd(), receiver.address(), ByteView(region).subspan(100, 200));
  batch.queue(sender.fd(), receiver.address(), scratch);
  // A scratch buffer is reused at once (like the server's response buffer): the copy was taken.
  std::fill(scratch.begin(), scratch.end(), 0);
  batch.flush();
  const auto got = receiver.drain();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].second, std::vector<uint8_t>(region.begin() + 100, region.begin() + 300));
  EXPECT_EQ(got[1].second, payload(100, 7));
}

TEST(UdpSendBatch, AFullQueueFlushesItselfAndNothingIsLost) {
  Socket sender;
  Socket receiver;
  UdpSendBatch batch;
  const size_t total = UdpSendBatch::kCapacity * 3 + 5;
  for (size_t i = 0; i < total; ++i) {
    batch.queue(sender.fd(), receiver.address(), payload(64, static_cast<uint8_t>(i)));
  }
  batch.flush();
  const auto got = receiver.drain();
  ASSERT_EQ(got.size(), total);
  for (size_t i = 0; i < total; ++i) EXPECT_EQ(got[i].second[0], static_cast<uint8_t>(i));
  EXPECT_GE(batch.stats().syscalls, 4u);
}

TEST(UdpSendBatch, LargeDatagramsFillTheArenaAndStillArrive) {
  Socket sender;
  Socket receiver;
  UdpSendBatch batch;
  // 3 x 60,000 bytes do not fit the 128 KiB arena together: the third forces a flush.
  for (uint8_t i = 0; i < 3; ++i) batch.queue(sender.fd(), receiver.address(), payload(60000, i));
  batch.flush();
  const auto got = receiver.drain();
  ASSERT_EQ(got.size(), 3u);
  for (uint8_t i = 0; i < 3; ++i) EXPECT_EQ(got[i].second, payload(60000, i));
}

TEST(UdpSendBatch, AnInvalidDescriptorIsIgnored) {
  UdpSendBatch batch;
  Socket receiver;
  batch.queue(-1, receiver.address(), payload(10, 0));
  EXPECT_TRUE(batch.empty());
  batch.flush();
  EXPECT_EQ(batch.stats().syscalls, 0u);
}

}  // namespace
}  // namespace turnpike::net
