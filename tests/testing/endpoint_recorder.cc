#include "tests/testing/endpoint_recorder.h"

#include "tests/testing/dtls_pair.h"

namespace dtls::testing {
namespace {

const certs::Credentials& credentials(int i) {
  return test_credentials("endpoint-" + std::to_string(i));
}

}  // namespace

std::shared_ptr<const DtlsContext> endpoint_context(int i) {
  DtlsContextOptions o;
  o.credentials = credentials(i);
  o.srtp_profiles = "SRTP_AES128_CM_SHA1_80";
  return std::move(DtlsContext::create(o)).value();
}

certs::Fingerprint endpoint_fingerprint(int i) {
  return certs::Fingerprint::of(credentials(i).leaf(),
                                certs::HashAlgorithm::kSha256);
}

int EndpointRecorder::count(IceEvent::Type t) const {
  int n = 0;
  for (const auto& [u, e] : ice) n += e.type == t;
  return n;
}

int EndpointRecorder::count(DtlsEvent::Type t) const {
  int n = 0;
  for (const auto& [p, e] : events) n += e.type == t;
  return n;
}

std::vector<std::string> EndpointRecorder::error_codes() const {
  std::vector<std::string> codes;
  for (const auto& [p, e] : events) {
    if (e.type == DtlsEvent::Type::kError) codes.emplace_back(e.error.code);
  }
  return codes;
}

EndpointCore::Callbacks EndpointRecorder::callbacks() {
  return {[this](const PeerAddress& p) { sessions.push_back(p); },
          [this](const PeerAddress& p, const DtlsEvent& e) {
            events.emplace_back(p, e);
          },
          [this](const PeerAddress&, const DtlsAssociation& a,
                 const srtp::MediaCounters&) { finished.push_back(a.state()); },
          [this](const PeerAddress& p, PacketKind k,
                 std::span<const std::uint8_t> m) {
            media.push_back({p, k, {m.begin(), m.end()}});
          },
          [this](const std::string& ufrag, const IceEvent& e) {
            ice.emplace_back(ufrag, e);
          }};
}

bool both_open(const EndpointRecorder& a, const EndpointRecorder& b, int n) {
  return a.count(DtlsEvent::Type::kHandshakeComplete) == n &&
         b.count(DtlsEvent::Type::kHandshakeComplete) == n;
}

}  // namespace dtls::testing
