// Records everything an EndpointCore reports through its callbacks, for tests
// that drive cores over a SimNetwork; and the certificates those tests use.
#ifndef DTLS_SRTP_TESTS_TESTING_ENDPOINT_RECORDER_H_
#define DTLS_SRTP_TESTS_TESTING_ENDPOINT_RECORDER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "certs/fingerprint.h"
#include "transport/dtls/dtls_context.h"
#include "transport/endpoint/endpoint_core.h"

namespace dtls::testing {

// Credentials number `i` (cached), a context on them offering
// SRTP_AES128_CM_SHA1_80, and their SHA-256 fingerprint.
std::shared_ptr<const DtlsContext> endpoint_context(int i);
certs::Fingerprint endpoint_fingerprint(int i);

struct EndpointRecorder {
  struct Media {
    PeerAddress from;
    PacketKind kind;
    std::vector<std::uint8_t> packet;
  };
  std::vector<PeerAddress> sessions;
  std::vector<std::pair<PeerAddress, DtlsEvent>> events;
  std::vector<DtlsAssociation::State> finished;
  std::vector<Media> media;
  std::vector<std::pair<std::string, IceEvent>> ice;

  int count(IceEvent::Type t) const;
  int count(DtlsEvent::Type t) const;
  // The codes of the kError events, in order.
  std::vector<std::string> error_codes() const;
  // Callbacks that record into this (which must outlive the core).
  EndpointCore::Callbacks callbacks();
};

// Both have completed `n` handshakes.
bool both_open(const EndpointRecorder& a, const EndpointRecorder& b, int n = 1);

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_ENDPOINT_RECORDER_H_
