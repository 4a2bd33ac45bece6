#include "load_client.h"

#include <algorithm>
#include <cstring>

#include "net_util.h"
#include "turnpike/stun/attributes.h"
#include "turnpike/stun/channel_data.h"
#include "turnpike/stun/integrity.h"

namespace turnpike::cli {
namespace {

constexpr uint8_t kMagic[4] = {'T', 'P', 'K', '1'};
constexpr uint8_t kProtocolUdp = 17;   // REQUESTED-TRANSPORT (RFC 8656 §18.7)
constexpr int kMaxTransmissions = 7;   // UDP: RFC 8489 §6.2.1 Rc
constexpr uint64_t kFirstRtoMs = 250;  // loopback-friendly; doubles up to kMaxRtoMs
constexpr uint64_t kMaxRtoMs = 2000;
constexpr uint64_t kStreamTimeoutMs = 10000;  // one transmission over TCP/TLS (and the connect)
constexpr int kMaxStaleRetries = 3;

using stun::Class;
using stun::Method;
namespace attr = stun::attr;

void store_be64(uint8_t* p, uint64_t v) noexcept {
  store_be32(p, static_cast<uint32_t>(v >> 32));
  store_be32(p + 4, static_cast<uint32_t>(v));
}
uint64_t load_be64(const uint8_t* p) noexcept {
  return (uint64_t{load_be32(p)} << 32) | load_be32(p + 4);
}

std::string error_key(const std::string& what) {
  if (what.rfind("TLS", 0) == 0) return "tls";
  if (what.rfind("connect:", 0) == 0 || what.rfind("connect timed out", 0) == 0) return "connect";
  if (what.rfind("connection closed", 0) == 0) return "closed";
  return "transport";
}

}  // namespace

LoadClient::LoadClient(LoadShared& shared, uint32_t index)
    : shared_(shared),
      index_(index),
      channel_(static_cast<uint16_t>(stun::kMinChannel + index % 0x1000)),
      transport_(shared.loop, shared.transport, shared.ssl_ctx, shared.buffers, *this),
      seen_(kSeenWindow / 64, 0) {
  uv_timer_init(shared.loop, &timer_);
  timer_.data = this;
  auth_.username = shared.username;
  auth_.password = shared.password;
  // The payload: header (rewritten per packet) + a fixed pattern. ChannelData mode keeps the
  // whole frame in wire_ (4-byte header, payload, room for stream padding).
  payload_.resize(shared.size);
  for (size_t i = kPayloadHeader; i < payload_.size(); ++i) {
    payload_[i] = static_cast<uint8_t>(i * 7 + index);
  }
  std::memcpy(payload_.data(), kMagic, sizeof kMagic);
  store_be32(payload_.data() + 4, index_);
  if (shared.channel_mode) {
    wire_.assign(stun::kChannelDataHeaderSize + payload_.size() + 3, 0);
    store_be16(wire_.data(), channel_);
    store_be16(wire_.data() + 2, static_cast<uint16_t>(payload_.size()));
    std::memcpy(wire_.data() + stun::kChannelDataHeaderSize, payload_.data(), payload_.size());
  } else {
    wire_.reserve(stun::kHeaderSize + 64 + payload_.size());
  }
  request_.reserve(512);
}

void LoadClient::start() {
  state_ = State::kSetup;
  chain_ = Chain::kSetup;
  steps_ = {Method::kAllocate, Method::kCreatePermission, Method::kChannelBind};
  step_count_ = shared_.channel_mode ? 3 : 2;
  step_ = 0;
  uv_timer_start(&timer_, on_timer, kStreamTimeoutMs, 0);  // connect (and TLS handshake) timeout
  std::string error;
  if (!transport_.start(shared_.server, shared_.server_host, &error)) {
    fail(error_key(error), error);
  }
}

void LoadClient::on_connected() {
  if (state_ != State::kSetup || in_flight_) return;
  if (shared_.raw) {  // nothing to set up: the ChannelData frames go straight out
    uv_timer_stop(&timer_);
    return finish_chain();
  }
  send_request();
}

void LoadClient::on_transport_error(const std::string& what) {
  if (state_ == State::kDone || state_ == State::kFailed || closing_) return;
  fail(error_key(what), what);
}

void LoadClient::begin_chain(Chain chain) {
  chain_ = chain;
  step_ = 0;
  stale_retries_ = 0;
  if (chain == Chain::kDelete) {
    steps_ = {Method::kRefresh};
    step_count_ = 1;
  } else {
    steps_ = {Method::kRefresh, Method::kCreatePermission, Method::kChannelBind};
    step_count_ = shared_.channel_mode ? 3 : 2;
  }
  send_request();
}

void LoadClient::send_request() {
  const Method m = steps_[step_];
  tid_ = new_transaction_id();
  stun::MessageBuilder b(request_, stun::make_type(m, Class::kRequest), tid_);
  switch (m) {
    case Method::kAllocate: {
      const uint8_t transport[4] = {kProtocolUdp, 0, 0, 0};
      b.add(attr::kRequestedTransport, transport);
      b.add_u32(attr::kLifetime, shared_.lifetime_s);
      break;
    }
    case Method::kCreatePermission:
      b.add_xor_address(attr::kXorPeerAddress, shared_.peer);
      break;
    case Method::kChannelBind: {
      const uint8_t number[4] = {static_cast<uint8_t>(channel_ >> 8),
                                 static_cast<uint8_t>(channel_), 0, 0};
      b.add(attr::kChannelNumber, number);
      b.add_xor_address(attr::kXorPeerAddress, shared_.peer);
      break;
    }
    default:  // Refresh
      b.add_u32(attr::kLifetime, chain_ == Chain::kDelete ? 0 : shared_.lifetime_s);
      break;
  }
  authenticated_ = auth_.ready();
  if (authenticated_) {
    auth_.sign(b);
  } else {
    b.add_fingerprint();  // the first Allocate: the server answers 401 with REALM and NONCE
  }
  in_flight_ = true;
  transmissions_ = 0;
  rto_ms_ = shared_.transport == Transport::kUdp ? kFirstRtoMs : kStreamTimeoutMs;
  transmit();
}

void LoadClient::transmit() {
  if (transmissions_ > 0) ++shared_.stats.retransmits;
  ++transmissions_;
  auto r = transport_.send(request_);
  if (r == ClientTransport::SendResult::kSent) transport_.flush();
  if (closing_) return;  // the flush failed and closed the transport
  if (r == ClientTransport::SendResult::kFailed) {
    if (!closing_) fail("transport", std::string(method_name(steps_[step_])) + ": send failed");
    return;
  }
  uv_timer_start(&timer_, on_timer, rto_ms_, 0);  // a blocked UDP send is retransmitted
}

void LoadClient::on_timer(uv_timer_t* t) {
  auto* self = static_cast<LoadClient*>(t->data);
  if (self->closing_) return;
  if (!self->in_flight_) {
    if (self->state_ == State::kSetup && !self->transport_.connected()) {
      self->fail("timeout", "connect timed out");
    }
    return;
  }
  if (self->shared_.transport == Transport::kUdp && self->transmissions_ < kMaxTransmissions) {
    self->rto_ms_ = std::min(self->rto_ms_ * 2, kMaxRtoMs);
    self->transmit();
    return;
  }
  self->fail("timeout", std::string(method_name(self->steps_[self->step_])) + " timed out");
}

void LoadClient::on_frame(ByteView frame) {
  const int64_t now = mono_ns();
  if (stun::looks_like_channel_data(frame)) {
    const auto cd = stun::parse_channel_data(frame);
    if (cd && cd->channel == channel_) {
      on_payload(cd->payload, now);
    } else {
      ++counters_.foreign;
    }
    return;
  }
  const auto msg = stun::MessageView::parse(frame);
  if (!msg) {
    ++counters_.foreign;
    return;
  }
  if (msg->message_class() == Class::kIndication && msg->method() == Method::kData) {
    const auto data = msg->find(attr::kData);
    const auto peer = msg->find(attr::kXorPeerAddress);
    const auto from = peer ? stun::decode_xor_address(*peer, msg->transaction_id())
                           : stun::decode_xor_address({}, msg->transaction_id());
    if (data && from && *from == shared_.peer) {
      on_payload(*data, now);
    } else {
      ++counters_.foreign;
    }
    return;
  }
  if (msg->message_class() == Class::kSuccess || msg->message_class() == Class::kError) {
    on_response(*msg);
  }
}

void LoadClient::on_response(const stun::MessageView& msg) {
  if (!in_flight_ || !std::ranges::equal(msg.transaction_id(), tid_)) return;  // stale/duplicate
  const Method m = steps_[step_];
  if (msg.method() != m) return;
  in_flight_ = false;
  uv_timer_stop(&timer_);
  const ResponseSummary s = summarize(msg);
  if (s.cls == Class::kSuccess) {
    if (authenticated_ &&
        stun::verify_message_integrity(msg, auth_.key.view()) != stun::IntegrityStatus::kOk) {
      return fail("integrity", std::string(method_name(m)) +
                                   " success response without valid MESSAGE-INTEGRITY");
    }
    if (m == Method::kAllocate) {
      const auto v = msg.find(attr::kXorRelayedAddress);
      const auto relayed = v ? stun::decode_xor_address(*v, msg.transaction_id())
                             : stun::decode_xor_address({}, msg.transaction_id());
      if (!relayed) return fail("protocol", "Allocate success without XOR-RELAYED-ADDRESS");
      relayed_ = *relayed;
      allocated_ = true;
      allocated_ns_ = mono_ns();
    }
    if (chain_ == Chain::kDelete) deleted_ = true;
    return step_done();
  }
  const uint16_t code = s.error_code;
  if (code == stun::error::kUnauthorized && !authenticated_) {
    if (!auth_.absorb_challenge(msg)) return fail("401", "401 without REALM/NONCE");
    return send_request();  // the same step, now with credentials
  }
  if (code == stun::error::kStaleNonce && stale_retries_ < kMaxStaleRetries) {
    ++stale_retries_;
    ++shared_.stats.stale_nonce_retries;
    if (!auth_.absorb_challenge(msg)) return fail("438", "438 without REALM/NONCE");
    return send_request();
  }
  if (chain_ == Chain::kDelete && code == stun::error::kAllocationMismatch) {
    return finish_chain();  // already gone (expired, or the server closed it)
  }
  fail(std::to_string(code), std::string(method_name(m)) + ": error " + std::to_string(code) + " " +
                                 std::string(s.reason));
}

void LoadClient::step_done() {
  ++step_;
  stale_retries_ = 0;
  if (step_ < step_count_) return send_request();
  finish_chain();
}

void LoadClient::finish_chain() {
  switch (chain_) {
    case Chain::kSetup:
      state_ = State::kReady;
      ready_ns_ = mono_ns();
      shared_.events->on_setup_finished(*this);
      return;
    case Chain::kRefresh:
      return;
    case Chain::kDelete:
      state_ = State::kDone;
      shared_.events->on_delete_finished(*this);
      return;
  }
}

void LoadClient::fail(const std::string& key, const std::string& detail) {
  if (state_ == State::kDone || state_ == State::kFailed) return;
  shared_.stats.add_error(key, "allocation " + std::to_string(index_) + ": " + detail);
  const State was = state_;
  state_ = was == State::kDeleting ? State::kDone : State::kFailed;
  in_flight_ = false;
  uv_timer_stop(&timer_);
  // An allocation that exists keeps its socket so that it can still be deleted at the end.
  if (!allocated_ || !transport_.connected() || was == State::kDeleting) close();
  if (was == State::kSetup || was == State::kIdle) shared_.events->on_setup_finished(*this);
  if (was == State::kDeleting) shared_.events->on_delete_finished(*this);
}

void LoadClient::on_payload(ByteView p, int64_t now) {
  if (p.size() < kPayloadHeader || std::memcmp(p.data(), kMagic, sizeof kMagic) != 0 ||
      load_be32(p.data() + 4) != index_) {
    ++counters_.foreign;
    return;
  }
  const auto seq = static_cast<int64_t>(load_be32(p.data() + 8));
  if (static_cast<uint64_t>(seq) >= counters_.sent) {  // never sent: not an echo of ours
    ++counters_.foreign;
    return;
  }
  const auto bit = [this](int64_t s) -> std::pair<uint64_t&, uint64_t> {
    const auto i = static_cast<size_t>(s) % kSeenWindow;
    return {seen_[i / 64], uint64_t{1} << (i % 64)};
  };
  if (seq > highest_seq_) {
    const int64_t gap = seq - highest_seq_;
    if (gap >= static_cast<int64_t>(kSeenWindow)) {
      std::fill(seen_.begin(), seen_.end(), 0);
    } else {
      for (int64_t s = highest_seq_ + 1; s < seq; ++s) {  // at most kSeenWindow steps
        auto [word, mask] = bit(s);
        word &= ~mask;
      }
    }
    auto [word, mask] = bit(seq);
    word |= mask;
    highest_seq_ = seq;
  } else if (highest_seq_ - seq >= static_cast<int64_t>(kSeenWindow)) {
    ++counters_.reordered;  // too old to tell a duplicate: counted once as late
  } else {
    auto [word, mask] = bit(seq);
    if ((word & mask) != 0) {
      ++counters_.duplicates;
      return;
    }
    word |= mask;
    ++counters_.reordered;
  }
  ++counters_.received;
  counters_.bytes_received += p.size();
  ++shared_.stats.total_received;
  last_echo_ns_ = now;
  const int64_t sent_at = shared_.start_ns + static_cast<int64_t>(load_be64(p.data() + 12));
  const int64_t rtt_ns = now - sent_at;
  shared_.stats.rtt.record(rtt_ns > 0 ? static_cast<uint64_t>(rtt_ns) / 1000 : 0);
  shared_.events->on_echo();
}

ClientTransport::SendResult LoadClient::send_next(int64_t now) {
  if (state_ != State::kReady) return ClientTransport::SendResult::kFailed;
  const auto seq = static_cast<uint32_t>(counters_.sent);
  const auto ts = static_cast<uint64_t>(now - shared_.start_ns);
  ByteView frame;
  if (shared_.channel_mode) {
    uint8_t* p = wire_.data() + stun::kChannelDataHeaderSize;
    store_be32(p + 8, seq);
    store_be64(p + 12, ts);
    size_t length = stun::kChannelDataHeaderSize + payload_.size();
    if (shared_.transport != Transport::kUdp) length = (length + 3) & ~size_t{3};  // §12.5
    frame = ByteView(wire_.data(), length);
  } else {
    store_be32(payload_.data() + 8, seq);
    store_be64(payload_.data() + 12, ts);
    stun::TransactionId tid{};
    store_be32(tid.data(), index_);
    store_be32(tid.data() + 4, seq);
    std::memcpy(tid.data() + 8, kMagic, 4);
    stun::MessageBuilder b(wire_, stun::make_type(Method::kSend, Class::kIndication), tid);
    b.add_xor_address(attr::kXorPeerAddress, shared_.peer);
    b.add(attr::kData, payload_);
    frame = b.bytes();
  }
  const auto r = transport_.send(frame);
  if (r == ClientTransport::SendResult::kSent) {
    ++counters_.sent;
    counters_.bytes_sent += payload_.size();
    ++shared_.stats.total_sent;
    if (first_send_ns_ == 0) first_send_ns_ = now;
    last_send_ns_ = now;
  } else if (r == ClientTransport::SendResult::kBlocked) {
    ++counters_.blocked;
  }
  return r;
}

void LoadClient::refresh() {
  if (state_ == State::kReady && !in_flight_ && !shared_.raw) begin_chain(Chain::kRefresh);
}

bool LoadClient::start_delete() {
  if (!allocated_ || closing_ || !transport_.connected() || state_ == State::kDone ||
      state_ == State::kDeleting) {
    return false;
  }
  state_ = State::kDeleting;
  begin_chain(Chain::kDelete);
  return true;
}

void LoadClient::close() {
  if (closing_) return;
  closing_ = true;
  uv_timer_stop(&timer_);
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), on_timer_closed);
  transport_.close();
}

void LoadClient::on_timer_closed(uv_handle_t* h) {
  static_cast<LoadClient*>(h->data)->timer_closed_ = true;
}

}  // namespace turnpike::cli
