// A client and a server DTLS association over a SimLink, with the server's
// CookieGate in front, a simulated clock that also drives OpenSSL's timer, and
// every event recorded.
#ifndef DTLS_SRTP_TESTS_TESTING_DTLS_PAIR_H_
#define DTLS_SRTP_TESTS_TESTING_DTLS_PAIR_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "certs/generate.h"
#include "tests/testing/sim_link.h"
#include "transport/dtls/cookie_gate.h"
#include "transport/dtls/dtls_association.h"

namespace dtls::testing {

struct PairConfig {
  DtlsContextOptions client_context;
  DtlsContextOptions server_context;
  AssociationOptions client;
  AssociationOptions server;
  LinkConfig client_to_server;
  LinkConfig server_to_client;
  // Used instead of building server_context (to share ticket keys across
  // pairs, or to test contexts built elsewhere).
  std::shared_ptr<const DtlsContext> shared_server_context;
  std::uint64_t seed = 1;
  Duration time_limit = std::chrono::seconds(300);
  // Sees each client->server datagram (numbered from 0) before the link:
  // nullopt drops it, a duration holds it back that much longer.
  std::function<std::optional<Duration>(const std::vector<std::uint8_t>&, int)>
      client_filter;
  // The same for server->client datagrams (HelloVerifyRequests included).
  std::function<std::optional<Duration>(const std::vector<std::uint8_t>&, int)>
      server_filter;
  // Called after each datagram is delivered (for tracing a failing seed).
  std::function<void(Side to, const std::vector<std::uint8_t>&)> on_deliver;
};

// Fresh self-signed ECDSA credentials (cached per name so big test matrices
// stay fast).
const certs::Credentials& test_credentials(const std::string& name);

// WebRTC style: self-signed on both sides, each pinned by the other's
// fingerprint, offering `profiles`.
PairConfig webrtc_pair_config(
    const std::string& profiles = "SRTP_AES128_CM_SHA1_80");

class DtlsPair {
 public:
  explicit DtlsPair(PairConfig config);

  // Builds both contexts and the client association. False (with `setup_error`)
  // on failure.
  bool start();
  // Runs until both sides have finished handshaking (open or failed), nothing
  // is left to do, or the time limit passes.
  void run_handshake();
  // Runs the simulation for `d` of simulated time (or until nothing is left to
  // do).
  void run_for(Duration d);

  DtlsAssociation* client() { return client_.get(); }
  DtlsAssociation* server() { return server_.get(); }
  const std::shared_ptr<const DtlsContext>& server_context() const {
    return server_context_;
  }
  bool both_open() const;

  // Every event so far, in order, per side.
  std::vector<DtlsEvent> client_events;
  std::vector<DtlsEvent> server_events;
  // The first kError on each side, if any.
  std::optional<Error> client_error() const;
  std::optional<Error> server_error() const;
  std::vector<std::uint8_t> received_by_server() const;  // concatenated kData
  std::vector<std::uint8_t> received_by_client() const;

  TimePoint now{};
  SimLink link;
  CookieGate gate;
  int hello_verify_requests = 0;
  int gate_drops = 0;
  std::optional<Error> setup_error;
  std::optional<Error> accept_error;

 private:
  bool step(TimePoint limit);
  void flush();
  void deliver(Side to, std::vector<std::uint8_t>& datagram);
  void send_from_server(std::vector<std::uint8_t> datagram);

  PairConfig config_;
  std::shared_ptr<const DtlsContext> client_context_;
  std::shared_ptr<const DtlsContext> server_context_;
  std::unique_ptr<DtlsAssociation> client_;
  std::unique_ptr<DtlsAssociation> server_;
  int client_datagrams_ = 0;
  int server_datagrams_ = 0;
};

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_DTLS_PAIR_H_
