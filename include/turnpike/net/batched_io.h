// The worker's batched output and the points where it leaves. One owner for: the receive buffer
// every UDP socket of the worker reads into (recvmmsg, with headroom so the server frames relayed
// payloads in place), the UDP send batch (sendmmsg + GSO, borrowing from that buffer), and the
// stream connections whose coalesced output waits for the same flush.
//
// Flush points: before the receive buffer is read into again, at the end of each recvmmsg batch,
// before the loop polls (uv_prepare: what timers and posted tasks queued) and right after the I/O
// phase (uv_check: what stream reads queued), and before a UDP socket closes (queued datagrams
// name its descriptor).
#pragma once

#include <uv.h>

#include <cstdint>
#include <vector>

#include "turnpike/net/udp_send_batch.h"
#include "turnpike/net/uv_handle.h"

namespace turnpike::net {

// Finds a stream connection by id to run its scheduled flush (a closed one is simply not found).
class StreamFlushTarget {
 public:
  virtual ~StreamFlushTarget() = default;
  virtual void run_scheduled_flush(uint64_t connection_id) = 0;
};

class BatchedIo {
 public:
  static constexpr size_t kMaxDatagram = 65536;
  // recvmmsg: libuv cuts the receive buffer into 64 KiB chunks, one datagram each, up to 20.
  static constexpr size_t kDatagramsPerRead = 20;

  BatchedIo();
  BatchedIo(const BatchedIo&) = delete;
  BatchedIo& operator=(const BatchedIo&) = delete;

  // Starts the loop's flush points. `streams` runs scheduled stream flushes.
  void start(uv_loop_t* loop, StreamFlushTarget& streams);
  void stop();  // flushes once more and closes the flush points

  // The buffer for the next recvmmsg batch (what still points into it leaves first).
  uv_buf_t receive_buffer() noexcept;
  // Queues one datagram from socket `fd` (non-blocking when it leaves: a full socket buffer drops
  // it, as the network could).
  void queue(int fd, const SocketAddress& to, ByteView bytes) noexcept {
    batch_.queue(fd, to, bytes);
  }
  // A connection with coalesced output asks to be flushed with the UDP batch.
  void schedule_stream_flush(uint64_t connection_id) { stream_flushes_.push_back(connection_id); }
  // Sends every queued datagram, then runs the scheduled stream flushes.
  void flush();
  [[nodiscard]] const UdpSendStats& send_stats() const noexcept { return batch_.stats(); }

 private:
  std::vector<uint8_t> receive_buffer_;
  UdpSendBatch batch_;
  StreamFlushTarget* streams_ = nullptr;
  std::vector<uint64_t> stream_flushes_;  // connection ids
  std::vector<uint64_t> flushing_;        // the list being flushed (flushes may schedule more)
  UvHandle<uv_prepare_t> prepare_;
  UvHandle<uv_check_t> check_;
};

}  // namespace turnpike::net
