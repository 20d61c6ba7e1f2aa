// A client association after OpenSSL has let it go (ReleasedSession), fed
// datagrams from its OpenSSL peer's keys and from anyone. The input is a
// sequence of [mode][sequence: 2 bytes][length: 2 bytes][bytes]:
//   mode bit 0 clear: `bytes` arrive as a datagram, as they are;
//   mode bit 0 set: `bytes` are sealed by the peer's keys first, as one
//     record of content type (mode >> 2) + 18 (20..23 and others), sequence
//     number 1000 + `sequence` (so the replay window is exercised);
//   mode bit 1 set: the client then sends `bytes` as a message (it goes
//     nowhere).
// Whatever arrives, nothing may crash or leak, and a session still open at
// the end must still reach its peer.
#include <openssl/ssl.h>

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "tests/testing/dtls_pair.h"
#include "tests/testing/raw_dtls_server.h"
#include "transport/dtls/dtls_association.h"
#include "transport/dtls/record_cipher.h"

namespace {

using dtls::DtlsAssociation;

struct Released {
  dtls::testing::RawServer raw{dtls::testing::test_credentials("fuzz server")};
  std::unique_ptr<DtlsAssociation> client;
  std::optional<dtls::RecordCipher> peer_keys;
};

// A fresh client released after a real handshake with a bare OpenSSL server.
std::unique_ptr<Released> make_released(dtls::TimePoint now) {
  static const std::shared_ptr<const dtls::DtlsContext> context = [] {
    dtls::DtlsContextOptions o;
    o.credentials = dtls::testing::test_credentials("fuzz client");
    o.srtp_profiles = "SRTP_AES128_CM_SHA1_80";
    return std::move(dtls::DtlsContext::create(o)).value();
  }();
  auto r = std::make_unique<Released>();
  dtls::AssociationOptions options;
  options.reject_unauthorized = false;
  auto client = DtlsAssociation::connect(context, options, now);
  if (!client.ok()) std::abort();
  r->client = std::move(client).value();
  std::vector<std::uint8_t> d;
  for (int round = 0;
       round < 20 && r->client->state() == DtlsAssociation::State::kHandshaking;
       ++round) {
    while (r->client->pop_datagram(d)) r->raw.feed(d);
    while (r->raw.queue.pop(d)) r->client->handle_datagram(d, now);
  }
  if (!r->client->released() || !SSL_is_init_finished(r->raw.ssl)) std::abort();
  auto keys = dtls::RecordCipher::from_ssl(r->raw.ssl);
  if (!keys.ok()) std::abort();
  r->peer_keys.emplace(std::move(keys).value());
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  const dtls::TimePoint now = dtls::Clock::now();
  auto r = make_released(now);
  std::vector<std::uint8_t> out, sealed(dtls::kRecordHeaderSize + 70000);
  dtls::DtlsEvent e;
  std::span<const std::uint8_t> in(data, size);
  while (in.size() >= 5) {
    const std::uint8_t mode = in[0];
    const std::uint64_t seq = 1000 + (in[1] << 8 | in[2]);
    size_t len = static_cast<size_t>(in[3] << 8 | in[4]);
    in = in.subspan(5);
    len = std::min(len, in.size());
    const auto bytes = in.first(len);
    in = in.subspan(len);
    if (mode & 1) {
      const auto type = static_cast<std::uint8_t>((mode >> 2) + 18);
      const size_t n =
          r->peer_keys->seal(type, dtls::kDtls12Version, 1, seq, bytes, sealed);
      if (n > 0) r->client->handle_datagram(std::span(sealed).first(n), now);
    } else {
      r->client->handle_datagram(bytes, now);
    }
    if (mode & 2) (void)r->client->send(bytes);
    while (r->client->pop_datagram(out)) {
    }
    while (r->client->pop_event(e)) {
    }
  }
  // Whatever came, a session still open still talks to its peer: OpenSSL
  // reads what it sends now (above every sequence number it sent before).
  if (r->client->state() == DtlsAssociation::State::kOpen) {
    const std::uint8_t last[] = {'l', 'a', 's', 't'};
    if (!r->client->send(last).ok() || !r->client->pop_datagram(out))
      std::abort();
    std::string got;
    if (r->raw.feed(out, &got) != SSL_ERROR_NONE || got != "last") std::abort();
  } else if (r->client->state() != DtlsAssociation::State::kClosed &&
             r->client->state() != DtlsAssociation::State::kFailed) {
    std::abort();
  }
  return 0;
}
