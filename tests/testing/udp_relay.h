// A man in the middle on loopback for tests: one libuv UDP socket that
// forwards a client's datagrams to a target and the target's back to the
// client, showing each to a hook that may change it, drop it or keep a copy;
// and that can inject datagrams either way (they come from the relay's
// address, which is the peer's address as each side sees it).
#ifndef DTLS_SRTP_TESTS_TESTING_UDP_RELAY_H_
#define DTLS_SRTP_TESTS_TESTING_UDP_RELAY_H_

#include <uv.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "transport/base/peer_address.h"

namespace dtls::testing {

class UdpRelay {
 public:
  enum class Direction { kToTarget, kToClient };
  // Returns false to drop the datagram; may change it.
  using Hook = std::function<bool(Direction, std::vector<std::uint8_t>&)>;

  UdpRelay(uv_loop_t* loop, PeerAddress target);
  ~UdpRelay();  // closes the socket (the loop must run its close callback)

  const PeerAddress& address() const { return local_; }
  // Where kToClient datagrams go before the client has sent anything (a
  // peer that only answers, such as a DTLS server behind the relay).
  void set_client(const PeerAddress& client) { client_ = client; }
  void set_hook(Hook hook) { hook_ = std::move(hook); }
  // Sends as if forwarded; false when the client is not known yet.
  bool inject(Direction d, const std::vector<std::uint8_t>& datagram);

 private:
  static void alloc_cb(uv_handle_t* h, size_t, uv_buf_t* buf);
  static void recv_cb(uv_udp_t* h, ssize_t n, const uv_buf_t* buf,
                      const sockaddr* addr, unsigned flags);
  void send_to(const PeerAddress& to, const std::vector<std::uint8_t>& d);

  uv_udp_t* udp_;
  PeerAddress target_;
  PeerAddress local_;
  std::optional<PeerAddress> client_;
  Hook hook_;
  std::vector<char> buffer_ = std::vector<char>(65536);
};

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_UDP_RELAY_H_
