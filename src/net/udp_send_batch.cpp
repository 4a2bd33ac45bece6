#include "turnpike/net/udp_send_batch.h"

#include <netinet/udp.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h, Linux >= 4.18
#endif

namespace turnpike::net {
namespace {

socklen_t write_address(const SocketAddress& to, sockaddr_in6& out) noexcept {
  if (to.ip.family == Family::kIPv4) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(to.port);
    std::memcpy(&sin.sin_addr, to.ip.bytes.data(), 4);
    std::memcpy(&out, &sin, sizeof sin);
    return sizeof sin;
  }
  out = sockaddr_in6{};
  out.sin6_family = AF_INET6;
  out.sin6_port = htons(to.port);
  std::memcpy(&out.sin6_addr, to.ip.bytes.data(), 16);
  return sizeof out;
}

// Errors that mean "this kernel or device cannot segment": GSO is switched off for the worker and
// the datagrams go one by one (EIO: no checksum offload on the route's device).
bool gso_refused(int error) noexcept {
  return error == EIO || error == EINVAL || error == EOPNOTSUPP || error == ENOPROTOOPT;
}

}  // namespace

UdpSendBatch::UdpSendBatch() : arena_(kArenaSize) {}

bool UdpSendBatch::same_destination(const Entry& a, const Entry& b) const noexcept {
  return a.address_length == b.address_length &&
         std::memcmp(&a.address, &b.address, a.address_length) == 0;
}

void UdpSendBatch::queue(int fd, const SocketAddress& to, ByteView bytes) noexcept {
  if (fd < 0) return;
  const bool borrowable = bytes.data() >= borrow_begin_ &&
                          bytes.data() + bytes.size() <= borrow_end_ &&
                          bytes.size() <= kMaxBorrowed;
  if (count_ == kCapacity || (!borrowable && kArenaSize - arena_used_ < bytes.size())) flush();
  Entry& e = entries_[count_];
  e.fd = fd;
  e.address_length = write_address(to, e.address);
  e.length = static_cast<uint32_t>(bytes.size());
  if (borrowable) {
    e.data = bytes.data();
  } else {
    if (bytes.size() > kArenaSize) return;  // larger than any UDP datagram: nothing to send
    uint8_t* copy = arena_.data() + arena_used_;
    if (!bytes.empty()) std::memcpy(copy, bytes.data(), bytes.size());
    arena_used_ += bytes.size();
    e.data = copy;
  }
  ++count_;
}

void UdpSendBatch::flush() noexcept {
  if (count_ == 0) return;
  // Group by socket, keeping queue order inside each socket (a stable partition by first
  // appearance): sendmmsg takes one descriptor per call.
  size_t grouped = 0;
  std::array<bool, kCapacity> taken{};
  for (size_t i = 0; i < count_; ++i) {
    if (taken[i]) continue;
    const size_t first = grouped;
    for (size_t j = i; j < count_; ++j) {
      if (!taken[j] && entries_[j].fd == entries_[i].fd) {
        taken[j] = true;
        grouped_[grouped++] = entries_[j];
      }
    }
    send_group(first, grouped);
  }
  count_ = 0;
  arena_used_ = 0;
}

// How many datagrams from grouped_[i] on can leave as one GSO message: same destination, same
// size (the last of a run may be shorter), at most kMaxGsoSegments and kMaxGsoBytes.
size_t UdpSendBatch::gso_run(size_t i, size_t last) const noexcept {
  const Entry& head = grouped_[i];
  if (!gso_enabled_ || head.length == 0 || head.length > gso_max_segment_) return 1;
  size_t run = 1;
  size_t bytes = head.length;
  while (i + run < last && run < kMaxGsoSegments) {
    const Entry& next = grouped_[i + run];
    if (next.length == 0 || next.length > head.length || !same_destination(head, next) ||
        bytes + next.length > kMaxGsoBytes) {
      break;
    }
    bytes += next.length;
    ++run;
    if (next.length < head.length) break;  // a shorter segment ends the run
  }
  return run;
}

// One mmsghdr per datagram, or per run of datagrams with one destination and one size when GSO is
// on: the kernel cuts that message into datagrams. The arrays are left uninitialised: only the
// first n are used, each written in full here (a flush of many small groups must not clear 6 KiB
// per group).
size_t UdpSendBatch::build_messages(size_t first, size_t last) noexcept {
  size_t n = 0;
  for (size_t i = first; i < last;) {
    const Entry& head = grouped_[i];
    const size_t run = gso_run(i, last);
    mmsghdr& m = out_.messages[n];
    m = mmsghdr{};
    m.msg_hdr.msg_name = const_cast<sockaddr_in6*>(&head.address);
    m.msg_hdr.msg_namelen = head.address_length;
    m.msg_hdr.msg_iov = &out_.iovecs[i - first];
    m.msg_hdr.msg_iovlen = run;
    for (size_t k = 0; k < run; ++k) {
      const Entry& e = grouped_[i + k];
      out_.iovecs[i - first + k] = iovec{const_cast<uint8_t*>(e.data), e.length};
    }
    if (run > 1) {  // UDP_SEGMENT carries the segment size
      out_.controls[n] = Control{};
      m.msg_hdr.msg_control = out_.controls[n].bytes;
      m.msg_hdr.msg_controllen = sizeof out_.controls[n].bytes;
      cmsghdr* c = CMSG_FIRSTHDR(&m.msg_hdr);
      c->cmsg_level = SOL_UDP;
      c->cmsg_type = UDP_SEGMENT;
      c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
      const auto size = static_cast<uint16_t>(head.length);
      std::memcpy(CMSG_DATA(c), &size, sizeof size);
    }
    out_.segments[n] = static_cast<uint16_t>(run);
    ++n;
    i += run;
  }
  return n;
}

void UdpSendBatch::send_group(size_t first, size_t last) noexcept {
  const size_t n = build_messages(first, last);
  const int fd = grouped_[first].fd;
  size_t done = 0;
  while (done < n) {
    const int sent = sendmmsg(fd, &out_.messages[done], static_cast<unsigned>(n - done), 0);
    ++stats_.syscalls;
    if (sent > 0) {
      for (size_t k = done; k < done + static_cast<size_t>(sent); ++k) {
        stats_.datagrams += out_.segments[k];
        if (out_.segments[k] > 1) ++stats_.gso_messages;
      }
      done += static_cast<size_t>(sent);
      continue;
    }
    const int error = errno;
    if (error == EINTR) continue;
    message_refused(first, done, error);
    ++done;
  }
}

// out_.messages[index] failed. A segmented message the kernel refuses: its datagrams go one by
// one. EINVAL is about this segment size (larger than the route's MTU allows): segments of that
// size are not merged again. Other refusals (no GSO support, EIO: no checksum offload) turn GSO
// off for this batch for good.
void UdpSendBatch::message_refused(size_t first, size_t index, int error) noexcept {
  const uint16_t segments = out_.segments[index];
  if (segments > 1 && gso_refused(error)) {
    const iovec* iov = out_.messages[index].msg_hdr.msg_iov;
    if (error == EINVAL) {
      gso_max_segment_ = iov[0].iov_len - 1;
    } else {
      gso_enabled_ = false;
    }
    const auto offset = static_cast<size_t>(iov - out_.iovecs.data());
    send_one_by_one(first + offset, first + offset + segments);
  } else {
    stats_.errors += segments;  // full buffer (EAGAIN), unreachable...: dropped
  }
}

void UdpSendBatch::send_one_by_one(size_t first, size_t last) noexcept {
  for (size_t i = first; i < last; ++i) {
    const Entry& e = grouped_[i];
    iovec iov{const_cast<uint8_t*>(e.data), e.length};
    msghdr h{};
    h.msg_name = const_cast<sockaddr_in6*>(&e.address);
    h.msg_namelen = e.address_length;
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    ssize_t rc = 0;
    do {
      rc = sendmsg(e.fd, &h, 0);
    } while (rc < 0 && errno == EINTR);
    ++stats_.syscalls;
    if (rc < 0) {
      ++stats_.errors;
    } else {
      ++stats_.datagrams;
    }
  }
}

}  // namespace turnpike::net
