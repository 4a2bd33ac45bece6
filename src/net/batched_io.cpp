#include "turnpike/net/batched_io.h"

#include "turnpike/turn/server.h"

namespace turnpike::net {

BatchedIo::BatchedIo()
    : receive_buffer_(turn::PeerPacket::kHeadroom + kDatagramsPerRead * kMaxDatagram +
                      turn::PeerPacket::kTailroom) {
  // Datagrams framed in the receive buffer leave from there (flushed before it is reused).
  batch_.set_borrowable(receive_buffer_.data(), receive_buffer_.data() + receive_buffer_.size());
}

void BatchedIo::start(uv_loop_t* loop, StreamFlushTarget& streams) {
  streams_ = &streams;
  // Datagrams queued by timers and posted tasks leave before the loop sleeps; those queued by
  // stream reads leave right after the I/O phase.
  prepare_.init(&uv_prepare_init, loop, this);
  uv_prepare_start(prepare_.get(),
                   [](uv_prepare_t* p) { static_cast<BatchedIo*>(p->data)->flush(); });
  check_.init(&uv_check_init, loop, this);
  uv_check_start(check_.get(), [](uv_check_t* c) { static_cast<BatchedIo*>(c->data)->flush(); });
}

void BatchedIo::stop() {
  flush();
  prepare_.close();
  check_.close();
}

uv_buf_t BatchedIo::receive_buffer() noexcept {
  // Queued datagrams may point into this buffer: they leave before it is read into again.
  batch_.flush();
  // One buffer serves every socket: libuv hands each datagram of a batch to its callback, in
  // order, before it reads again. Reads start kHeadroom bytes in, so the server can frame a relayed
  // payload in place: for the first chunk in the headroom, for later ones in the (already handled)
  // end of the previous 64 KiB chunk, which no datagram fills.
  char* base = reinterpret_cast<char*>(receive_buffer_.data()) + turn::PeerPacket::kHeadroom;
  return uv_buf_init(base, static_cast<unsigned>(kDatagramsPerRead * kMaxDatagram));
}

void BatchedIo::flush() {
  batch_.flush();
  while (!stream_flushes_.empty()) {
    flushing_.swap(stream_flushes_);
    for (const uint64_t id : flushing_) {
      if (streams_ != nullptr) streams_->run_scheduled_flush(id);
    }
    flushing_.clear();
  }
}

}  // namespace turnpike::net
