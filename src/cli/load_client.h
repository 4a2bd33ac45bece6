// One allocation of `turnpike load`: its own 5-tuple (socket) to the server, the TURN control
// exchanges (Allocate with the long-term credential mechanism, CreatePermission, ChannelBind,
// Refresh), and the data path to and from the echo peer.
//
// Test payload (big-endian, first 20 bytes of every packet; the rest is a fixed pattern):
//   magic "TPK1" | allocation index (u32) | sequence number (u32) | send time, ns since start (u64)
#pragma once

#include <uv.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "client_transport.h"
#include "load_stats.h"
#include "turn_messages.h"
#include "turnpike/util/socket_address.h"

namespace turnpike::cli {

inline constexpr size_t kPayloadHeader = 20;

class LoadClient;

// Told when an allocation changes phase (implemented by the runner).
class LoadEvents {
 public:
  virtual void on_setup_finished(LoadClient& client) = 0;  // ready, or failed during setup
  virtual void on_delete_finished(LoadClient& client) = 0;
  virtual void on_echo() = 0;  // a new (non-duplicate) echo arrived

 protected:
  ~LoadEvents() = default;
};

// What every allocation of a run shares.
struct LoadShared {
  uv_loop_t* loop = nullptr;
  Transport transport = Transport::kUdp;
  SocketAddress server;
  std::string server_host;  // for TLS SNI/verification
  SocketAddress peer;
  SSL_CTX* ssl_ctx = nullptr;
  std::string username;
  std::string password;
  bool channel_mode = true;
  bool raw = false;           // no TURN: ChannelData straight to a raw forwarder (UDP only)
  uint32_t size = 100;        // payload bytes per packet (>= kPayloadHeader)
  uint64_t packets = 0;       // per allocation; 0 = until stopped
  uint32_t lifetime_s = 600;  // requested allocation lifetime
  int64_t start_ns = 0;       // payload timestamps are relative to this
  TransportBuffers buffers;
  LoadStats stats;
  LoadEvents* events = nullptr;
};

struct LoadCounters {
  uint64_t sent = 0;
  uint64_t received = 0;  // unique echoes
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t reordered = 0;   // arrived after a higher sequence number
  uint64_t duplicates = 0;  // a sequence number seen again
  uint64_t foreign = 0;     // not one of this allocation's packets
  uint64_t blocked = 0;     // sends deferred because the socket was full
};

class LoadClient final : public ClientTransport::Handler {
 public:
  enum class State : uint8_t { kIdle, kSetup, kReady, kDeleting, kDone, kFailed };

  LoadClient(LoadShared& shared, uint32_t index);
  ~LoadClient() = default;
  LoadClient(const LoadClient&) = delete;
  LoadClient& operator=(const LoadClient&) = delete;

  // Connects, then Allocate -> CreatePermission -> ChannelBind (channel mode); in raw mode the
  // allocation is ready as soon as the socket is.
  void start();
  // Sends the next test packet. kBlocked: try again later.
  ClientTransport::SendResult send_next(int64_t now_ns);
  void flush() { transport_.flush(); }  // after a burst of send_next (TLS: one record)
  void refresh();  // while ready: Refresh + CreatePermission (+ ChannelBind) again
  // Refresh with LIFETIME 0 when allocated; on_delete_finished follows. false when there is
  // nothing to delete.
  bool start_delete();
  void close();  // timer and socket; released asynchronously
  [[nodiscard]] bool closed() const noexcept { return transport_.closed() && timer_closed_; }

  [[nodiscard]] State state() const noexcept { return state_; }
  [[nodiscard]] bool allocated() const noexcept { return allocated_; }
  [[nodiscard]] bool deleted() const noexcept { return deleted_; }
  [[nodiscard]] bool done_sending() const noexcept {
    return shared_.packets != 0 && counters_.sent >= shared_.packets;
  }
  [[nodiscard]] const LoadCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] uint32_t index() const noexcept { return index_; }
  [[nodiscard]] int64_t allocated_ns() const noexcept { return allocated_ns_; }
  [[nodiscard]] int64_t ready_ns() const noexcept { return ready_ns_; }
  [[nodiscard]] int64_t last_echo_ns() const noexcept { return last_echo_ns_; }
  [[nodiscard]] int64_t first_send_ns() const noexcept { return first_send_ns_; }
  [[nodiscard]] int64_t last_send_ns() const noexcept { return last_send_ns_; }
  [[nodiscard]] const SocketAddress& relayed() const noexcept { return relayed_; }

 private:
  enum class Chain : uint8_t { kSetup, kRefresh, kDelete };
  static constexpr size_t kSeenWindow = 1u << 16;  // sequence numbers tracked for duplicates

  void on_connected() override;
  void on_frame(ByteView frame) override;
  void on_transport_error(const std::string& what) override;

  void begin_chain(Chain chain);
  void send_request();  // the chain's current step, new transaction id
  void transmit();      // (re)sends request_ and arms the timer
  void on_response(const stun::MessageView& msg);
  void step_done();
  void on_payload(ByteView payload, int64_t now_ns);
  void fail(const std::string& key, const std::string& detail);
  void finish_chain();
  static void on_timer(uv_timer_t* t);
  static void on_timer_closed(uv_handle_t* h);

  LoadShared& shared_;
  uint32_t index_;
  uint16_t channel_;
  ClientTransport transport_;
  uv_timer_t timer_{};
  bool timer_closed_ = false;
  bool closing_ = false;
  State state_ = State::kIdle;

  LongTermAuth auth_;
  Chain chain_ = Chain::kSetup;
  std::array<stun::Method, 4> steps_{};
  size_t step_count_ = 0;
  size_t step_ = 0;
  bool in_flight_ = false;
  bool authenticated_ = false;  // send the current request with MESSAGE-INTEGRITY
  int stale_retries_ = 0;
  int transmissions_ = 0;
  uint64_t rto_ms_ = 0;
  stun::TransactionId tid_{};
  std::vector<uint8_t> request_;

  LoadCounters counters_;
  bool allocated_ = false;
  bool deleted_ = false;
  SocketAddress relayed_;
  int64_t allocated_ns_ = 0;
  int64_t ready_ns_ = 0;
  int64_t first_send_ns_ = 0;
  int64_t last_send_ns_ = 0;
  int64_t last_echo_ns_ = 0;

  std::vector<uint8_t> wire_;     // the next frame on the wire (ChannelData or Send indication)
  std::vector<uint8_t> payload_;  // Send-indication mode: the payload before framing
  std::vector<uint64_t> seen_;    // bitmap of the last kSeenWindow sequence numbers
  int64_t highest_seq_ = -1;
};

}  // namespace turnpike::cli
