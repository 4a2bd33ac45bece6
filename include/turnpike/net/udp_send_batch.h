// Batched UDP sends for one worker loop: datagrams are queued while the loop handles a batch of
// received datagrams (or any other callback) and leave in as few system calls as possible —
// sendmmsg(2) per socket, and UDP GSO (UDP_SEGMENT, Linux >= 4.18) where consecutive datagrams go
// to the same destination with the same size. libuv 1.44 has no batched UDP send, so this writes
// to the sockets' descriptors directly (the worker never uses uv_udp_send, so libuv keeps no
// queue of its own on these sockets).
//
// Zero copy where it is safe: a datagram whose bytes lie in the borrowable region (the worker's
// receive buffer, which stays untouched until the worker flushes before its next read) is sent
// from where it is. Anything else (responses built in a scratch buffer, data cut from a TCP/TLS
// stream) is copied into the batch's arena first.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "turnpike/util/bytes.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::net {

struct UdpSendStats {
  uint64_t datagrams = 0;     // datagrams handed to the kernel (GSO segments counted one by one)
  uint64_t syscalls = 0;      // sendmmsg calls
  uint64_t gso_messages = 0;  // messages sent with UDP_SEGMENT (each carrying >= 2 datagrams)
  uint64_t errors = 0;        // datagrams the kernel refused (full socket buffer, unreachable...)
};

class UdpSendBatch {
 public:
  static constexpr size_t kCapacity = 64;           // datagrams queued before a forced flush
  static constexpr size_t kArenaSize = 128 * 1024;  // copies of non-borrowable datagrams
  static constexpr size_t kMaxGsoSegments = 64;     // UDP_MAX_SEGMENTS in the kernel
  static constexpr size_t kMaxGsoBytes = 65000;     // below the 65507-byte IPv4 UDP payload
  // A datagram this close to a 64 KiB receive chunk may share bytes with the in-place framing of
  // the next chunk (headroom written at the end of the previous chunk): it is copied, not borrowed.
  static constexpr size_t kMaxBorrowed = 65536 - 64;

  UdpSendBatch();
  UdpSendBatch(const UdpSendBatch&) = delete;
  UdpSendBatch& operator=(const UdpSendBatch&) = delete;

  // Bytes in [begin, end) stay valid and unmodified until the next flush().
  void set_borrowable(const uint8_t* begin, const uint8_t* end) noexcept {
    borrow_begin_ = begin;
    borrow_end_ = end;
  }
  // Queues one datagram from socket `fd` to `to`. May flush first (queue or arena full).
  void queue(int fd, const SocketAddress& to, ByteView bytes) noexcept;
  // Sends everything queued, in order per socket. Failed datagrams are counted and dropped, as
  // the network could drop them.
  void flush() noexcept;
  [[nodiscard]] bool empty() const noexcept { return count_ == 0; }
  [[nodiscard]] const UdpSendStats& stats() const noexcept { return stats_; }
  [[nodiscard]] bool gso_enabled() const noexcept { return gso_enabled_; }
  void disable_gso() noexcept { gso_enabled_ = false; }

 private:
  struct Entry {
    int fd = -1;
    socklen_t address_length = 0;
    sockaddr_in6 address{};  // sockaddr_in or sockaddr_in6
    const uint8_t* data = nullptr;
    uint32_t length = 0;
  };
  // Sends entries [first, last) of one socket (already grouped, in queue order).
  void send_group(size_t first, size_t last) noexcept;
  [[nodiscard]] size_t gso_run(size_t i, size_t last) const noexcept;
  size_t build_messages(size_t first, size_t last) noexcept;  // into out_; returns how many
  void message_refused(size_t first, size_t index, int error) noexcept;
  void send_one_by_one(size_t first, size_t last) noexcept;
  [[nodiscard]] bool same_destination(const Entry& a, const Entry& b) const noexcept;

  // One control buffer per message: UDP_SEGMENT carries a uint16_t segment size.
  struct alignas(cmsghdr) Control {
    uint8_t bytes[CMSG_SPACE(sizeof(uint16_t))];
  };
  // The messages of one sendmmsg call (rewritten per group; never cleared as a whole).
  struct Outgoing {
    std::array<mmsghdr, kCapacity> messages;
    std::array<iovec, kCapacity> iovecs;
    std::array<Control, kCapacity> controls;
    std::array<uint16_t, kCapacity> segments;  // datagrams per message
  };

  std::array<Entry, kCapacity> entries_{};
  std::array<Entry, kCapacity> grouped_{};
  size_t count_ = 0;
  std::vector<uint8_t> arena_;
  size_t arena_used_ = 0;
  const uint8_t* borrow_begin_ = nullptr;
  const uint8_t* borrow_end_ = nullptr;
  bool gso_enabled_ = true;
  size_t gso_max_segment_ = 65535;  // lowered when the kernel refuses a segment size (EINVAL)
  UdpSendStats stats_;
  Outgoing out_;
};

}  // namespace turnpike::net
