// Helpers the dtls_api_*_test files share: two identities that pin each other,
// options that use them, and a listening endpoint with a connected client.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_API_TEST_SUPPORT_H_
#define DTLS_SRTP_TRANSPORT_DTLS_API_TEST_SUPPORT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "tests/testing/udp_relay.h"
#include "tests/testing/uv_test_loop.h"
#include "transport/dtls_api.h"

namespace dtls::testing_support {

using Loop = testing::UvTestLoop;
using Bytes = std::vector<std::uint8_t>;

// Two generated certificates (0 and 1), made once per process: PEM
// certificate and key, and the SDP fingerprint of the certificate.
struct Pem {
  std::string cert, key, fingerprint;
};
const Pem& pem(int i);

// A server on `host`, any port, as certificate 0 pinning certificate 1, with
// two SRTP profiles.
ListenOptions listen_options(std::string host = "127.0.0.1");
// A client as certificate 1 pinning certificate 0, with SRTP_AEAD_AES_128_GCM.
ConnectOptions connect_options();

// Whether `f` has settled, without waiting.
template <class T>
bool ready(const std::shared_future<T>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

// A handle's stats() from a thread that is not its loop's: asked, and
// waited for (tests only: a loop's thread would post instead).
template <class Handle>
auto stats_of(const Handle& h) {
  return h.ask([](auto& self) { return self.stats(); }).get();
}

// Keeps a library loop busy from construction until release() (or the end
// of its scope): what other threads post meanwhile waits in its queue.
class HeldLoop {
 public:
  explicit HeldLoop(LoopDispatcher& loop) {
    std::promise<void> entered;
    loop.post([&entered, released = released_] {
      entered.set_value();
      released.wait();
    });
    entered.get_future().wait();
  }
  ~HeldLoop() { release(); }
  HeldLoop(const HeldLoop&) = delete;
  HeldLoop& operator=(const HeldLoop&) = delete;
  void release() {
    if (!released_now_) release_.set_value();
    released_now_ = true;
  }

 private:
  std::promise<void> release_;
  std::shared_future<void> released_ = release_.get_future().share();
  bool released_now_ = false;
};

// An RTP packet (testing::make_rtp).
Bytes rtp(std::uint32_t ssrc, std::uint16_t seq, size_t payload);

// A listening endpoint and a client connected to it, on a loop of their own,
// keeping the RTP and RTCP each side receives.
struct MediaPair {
  testing::UvTestLoop loop;
  std::vector<Session> server_sessions;
  std::vector<Bytes> server_rtp, server_rtcp, client_rtp, client_rtcp;
  Result<Endpoint> endpoint = make_error("ERR_TEST", "not yet");
  Result<Session> client = make_error("ERR_TEST", "not yet");

  // Listens; connects through `via` (a relay) when given.
  void start(const std::string& profile, const testing::UdpRelay* via = nullptr,
             std::optional<PeerAddress>* server_address = nullptr);
  void connect_to(const std::string& profile, std::uint16_t port);
};

}  // namespace dtls::testing_support

#endif  // DTLS_SRTP_TRANSPORT_DTLS_API_TEST_SUPPORT_H_
