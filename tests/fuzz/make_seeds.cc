// Writes seed corpora from one real in-memory handshake:
//   DIR/client_hello/: the first ClientHello, the HelloVerifyRequest, the
//   ClientHello with cookie DIR/association/: the server's datagrams in the
//   association fuzzer's length-prefixed format
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "transport/dtls/cookie_gate.h"
#include "transport/dtls/dtls_association.h"

namespace {

void write(const std::string& path, const std::vector<std::uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

void append_prefixed(std::vector<std::uint8_t>& out,
                     const std::vector<std::uint8_t>& d) {
  out.push_back(static_cast<std::uint8_t>(d.size() >> 8));
  out.push_back(static_cast<std::uint8_t>(d.size()));
  out.insert(out.end(), d.begin(), d.end());
}

}  // namespace

int main(int argc, char** argv) {
  using namespace dtls;
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  DtlsContextOptions co, so;
  co.credentials = std::move(certs::generate_certificate()).value();
  so.credentials = std::move(certs::generate_certificate()).value();
  co.srtp_profiles = so.srtp_profiles =
      "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM";
  co.alpn_protocols = so.alpn_protocols = {"webrtc"};
  auto cctx = std::move(DtlsContext::create(co)).value();
  auto sctx = std::move(DtlsContext::create(so)).value();
  AssociationOptions sa;
  sa.request_cert = true;
  sa.reject_unauthorized = false;
  const TimePoint now = Clock::now();
  AssociationOptions ca;
  ca.reject_unauthorized =
      false;  // self-signed both ways, nothing pinned: seeds only
  auto client = std::move(DtlsAssociation::connect(cctx, ca, now)).value();
  CookieGate gate;
  const std::vector<std::uint8_t> peer = {4, 127, 0, 0, 1, 0x13, 0x88};
  std::unique_ptr<DtlsAssociation> server;
  std::vector<std::uint8_t> d, server_flights;
  int hello = 0;
  for (int round = 0; round < 10; ++round) {
    while (client->pop_datagram(d)) {
      if (server) {
        server->handle_datagram(d, now);
        continue;
      }
      write(dir + "/client_hello/hello" + std::to_string(hello++), d);
      auto decision = gate.inspect(d, peer, now);
      if (decision.verdict == CookieGate::Verdict::kHelloVerify) {
        std::vector<std::uint8_t> hvr(decision.reply.begin(),
                                      decision.reply.end());
        write(dir + "/client_hello/hello_verify_request", hvr);
        append_prefixed(server_flights, hvr);
        client->handle_datagram(hvr, now);
      } else if (decision.verdict == CookieGate::Verdict::kAccept) {
        server = std::move(
                     DtlsAssociation::accept(sctx, sa, d, decision.cookie, now))
                     .value();
      }
    }
    while (server && server->pop_datagram(d)) {
      append_prefixed(server_flights, d);
      client->handle_datagram(d, now);
    }
  }
  write(dir + "/association/handshake", server_flights);
  std::printf("client %s, server %s\n", client->protocol().c_str(),
              server ? server->protocol().c_str() : "none");
  return client->state() == DtlsAssociation::State::kOpen ? 0 : 1;
}
