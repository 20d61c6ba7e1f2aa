// An impairing UDP relay on loopback: clients send to the relay's address,
// the relay forwards to one target through an Impairment each way, and back.
// Each client address is a flow with its own upstream socket, so the target
// sees one peer per client (as behind a NAT), and its own pair of seeded
// impairments: the n-th client to send gets seeds derived from (seed, n), so
// two runs through relays with the same seed impair their n-th handshakes
// alike, whichever stack made them.
//
// libuv, on the caller's loop; the decisions are Impairment's (sans-I/O).
#ifndef DTLS_SRTP_TOOLS_RELAY_IMPAIRING_RELAY_H_
#define DTLS_SRTP_TOOLS_RELAY_IMPAIRING_RELAY_H_

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <unordered_map>
#include <vector>

#include "tools/relay/impairment.h"
#include "transport/base/peer_address.h"

namespace dtls::relay {

struct RelayConfig {
  ImpairmentConfig to_target;  // client -> target
  ImpairmentConfig to_client;  // target -> client
  std::uint64_t seed = 1;
  // The first client is flow `first_flow` (seeds follow the flow number): a
  // relay per handshake can impair its n-th handshake as a shared relay
  // impairs its n-th client.
  std::uint64_t first_flow = 0;
  // Clients beyond this many flows at once are dropped (counted in
  // refused_flows); expired flows (flow_idle) no longer count.
  std::size_t max_flows = 4096;
  // A flow that carried nothing either way for this long is closed, as a NAT
  // forgets a binding: its socket toward the target is freed (its counts
  // stay) and the client's next datagram starts a new flow. 0 keeps every
  // flow until the relay ends. Many short clients (a handshake each) would
  // otherwise hold a socket each for the relay's whole life.
  std::chrono::milliseconds flow_idle{0};
};

struct RelayStats {
  ImpairmentStats to_target, to_client;
  std::uint64_t flows = 0;
  std::uint64_t refused_flows = 0;
  std::uint64_t expired_flows = 0;  // closed after flow_idle
  // Datagrams toward the target held past their flow's end (a delay longer
  // than flow_idle), dropped with it.
  std::uint64_t expired_drops = 0;
  std::uint64_t send_errors = 0;  // the kernel refused a forwarded datagram
};

// The seed of flow `n`'s impairment in one direction (0: to the target, 1:
// to the client).
std::uint64_t flow_seed(std::uint64_t seed, std::uint64_t n, int direction);

class ImpairingRelay {
 public:
  // Listens on `listen` (port 0: any) and forwards to `target`.
  // ERR_OUT_OF_RANGE for a bad impairment, ERR_SOCKET_BIND when it cannot
  // bind.
  static Result<std::unique_ptr<ImpairingRelay>> create(
      uv_loop_t* loop, const PeerAddress& listen, const PeerAddress& target,
      RelayConfig config);
  // Closes every socket and the timer; the loop frees them in their close
  // callbacks, which never touch the relay.
  ~ImpairingRelay();
  ImpairingRelay(const ImpairingRelay&) = delete;
  ImpairingRelay& operator=(const ImpairingRelay&) = delete;

  const PeerAddress& address() const { return address_; }
  const PeerAddress& target() const { return target_; }
  RelayStats stats() const;
  // Datagrams decided but not yet delivered.
  std::size_t in_flight() const { return pending_.size(); }
  // When the first client datagram arrived, if one has.
  std::optional<TimePoint> first_datagram_at() const { return first_at_; }

 private:
  struct Flow;
  struct Pending {
    TimePoint at;
    std::uint64_t order;  // FIFO among equal times
    std::size_t flow;
    bool to_client;
    std::vector<std::uint8_t> bytes;
    bool operator>(const Pending& o) const {
      return at != o.at ? at > o.at : order > o.order;
    }
  };

  ImpairingRelay(uv_loop_t* loop, PeerAddress target, RelayConfig config);
  Status start(const PeerAddress& listen);
  Flow* flow_for(const PeerAddress& client);
  void offer(std::size_t flow, bool to_client, const char* data,
             std::size_t size);
  void deliver_due();
  void arm_timer();

  static void front_alloc_cb(uv_handle_t* h, std::size_t, uv_buf_t* buf);
  static void upstream_alloc_cb(uv_handle_t* h, std::size_t, uv_buf_t* buf);
  static void front_recv_cb(uv_udp_t* h, ssize_t n, const uv_buf_t* buf,
                            const sockaddr* addr, unsigned flags);
  static void upstream_recv_cb(uv_udp_t* h, ssize_t n, const uv_buf_t* buf,
                               const sockaddr* addr, unsigned flags);
  static void timer_cb(uv_timer_t* t);
  static void sweep_cb(uv_timer_t* t);

  uv_loop_t* loop_;
  PeerAddress target_;
  PeerAddress address_;
  RelayConfig config_;
  uv_udp_t* front_ = nullptr;
  uv_timer_t* timer_ = nullptr;
  uv_timer_t* sweep_ = nullptr;  // with flow_idle: closes idle flows
  std::vector<std::unique_ptr<Flow>> flows_;
  std::unordered_map<PeerAddress, std::size_t, PeerAddressHash> by_client_;
  std::priority_queue<Pending, std::vector<Pending>, std::greater<>> pending_;
  std::uint64_t order_ = 0;
  std::optional<TimePoint> first_at_;
  std::uint64_t refused_flows_ = 0;
  std::uint64_t expired_flows_ = 0;
  std::uint64_t expired_drops_ = 0;
  std::uint64_t send_errors_ = 0;
  std::vector<char> buffer_ = std::vector<char>(65536);
};

}  // namespace dtls::relay

#endif  // DTLS_SRTP_TOOLS_RELAY_IMPAIRING_RELAY_H_
