// A program outside the dtls_srtp workspace: two in-memory DTLS-SRTP
// associations (client and server, WebRTC style pinning), a cookie exchange, a
// handshake, and the exported SRTP keys.
#include <cstdio>
#include <vector>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "transport/cookie_gate.h"
#include "transport/dtls_association.h"

int main() {
  using namespace dtls;
  auto client_creds = certs::generate_certificate();
  auto server_creds = certs::generate_certificate();
  if (!client_creds.ok() || !server_creds.ok()) return 1;
  DtlsContextOptions co, so;
  co.credentials = *client_creds;
  so.credentials = *server_creds;
  co.srtp_profiles = so.srtp_profiles =
      "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
  auto cctx = DtlsContext::create(co);
  auto sctx = DtlsContext::create(so);
  if (!cctx.ok() || !sctx.ok()) return 1;
  AssociationOptions ca, sa;
  ca.peer_fingerprints = {certs::Fingerprint::of(
      server_creds->leaf(), certs::HashAlgorithm::kSha256)};
  sa.peer_fingerprints = {certs::Fingerprint::of(
      client_creds->leaf(), certs::HashAlgorithm::kSha256)};

  const TimePoint now = Clock::now();
  auto client = DtlsAssociation::connect(*cctx, ca, now);
  if (!client.ok()) return 1;
  CookieGate gate;
  const std::vector<std::uint8_t> peer = {4, 127, 0, 0, 1, 0x30, 0x39};
  std::unique_ptr<DtlsAssociation> server;
  std::vector<std::uint8_t> d;
  for (int round = 0; round < 20; ++round) {
    while ((*client)->pop_datagram(d)) {
      if (server) {
        server->handle_datagram(d, now);
        continue;
      }
      auto decision = gate.inspect(d, peer);
      if (decision.verdict == CookieGate::Verdict::kHelloVerify) {
        (*client)->handle_datagram(decision.reply, now);
      } else if (decision.verdict == CookieGate::Verdict::kAccept) {
        auto s = DtlsAssociation::accept(*sctx, sa, d, decision.cookie, now);
        if (!s.ok()) return 1;
        server = std::move(s).value();
      }
    }
    while (server && server->pop_datagram(d))
      (*client)->handle_datagram(d, now);
  }
  if (!server || (*client)->state() != DtlsAssociation::State::kOpen ||
      server->state() != DtlsAssociation::State::kOpen) {
    std::fprintf(stderr, "handshake did not complete\n");
    return 1;
  }
  auto ck = (*client)->export_keying_material(56, "EXTRACTOR-dtls_srtp");
  auto sk = server->export_keying_material(56, "EXTRACTOR-dtls_srtp");
  if (!ck.ok() || !sk.ok() || *ck != *sk) return 1;
  std::printf("handshake ok: %s %s, keys match\n",
              (*client)->protocol().c_str(), (*client)->srtp_profile().c_str());
  return 0;
}
