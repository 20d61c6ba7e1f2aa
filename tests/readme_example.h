// The README's "Using it" example, compiled and run by readme_example_test
// (which also checks that the README shows exactly this code).
#ifndef DTLS_SRTP_TESTS_README_EXAMPLE_H_
#define DTLS_SRTP_TESTS_README_EXAMPLE_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "transport/dtls_api.h"

namespace example {

// README:begin
// A tiny SFU: every RTP packet one participant sends goes to all the others.
struct Room {
  std::unordered_map<std::uint64_t, dtls::Session> members;  // by Session::id()
};

dtls::Result<dtls::Endpoint> open_room(dtls::EventLoop& loop, Room& room,
                                       const std::string& cert_pem,
                                       const std::string& key_pem,
                                       std::vector<std::string> fingerprints) {
  dtls::ListenOptions lo;
  lo.cert = cert_pem;
  lo.key = key_pem;
  lo.host = "127.0.0.1";
  lo.port = 0;  // any free port
  lo.srtp = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80";
  lo.fingerprints = std::move(fingerprints);  // each peer's a=fingerprint
  // In place for every session before it reports anything; each callback
  // gets its Session, on the loop's thread.
  dtls::SessionListener each;
  each.on_opened = [&room](dtls::Session& s,
                           const dtls::Result<std::string>& r) {
    if (r.ok()) room.members[s.id()] = s;
  };
  each.on_closed = [&room](dtls::Session& s, const dtls::Status&) {
    room.members.erase(s.id());
  };
  each.on_rtp = [&room](dtls::Session& from,
                        std::span<const std::uint8_t> rtp) {
    for (auto& [id, to] : room.members)
      if (id != from.id())
        (void)to.send_rtp(rtp);  // a drop is counted in to.stats()
  };
  return dtls::listen(loop, each, lo);  // .error().code on failure
}

// A participant: its callbacks are given to connect(), so nothing that
// arrives right after the handshake is missed.
dtls::Result<dtls::Session> join(
    dtls::EventLoop& loop, std::uint16_t port, const std::string& cert_pem,
    const std::string& key_pem, std::string room_fingerprint,
    std::function<void(std::span<const std::uint8_t>)> on_rtp) {
  dtls::ConnectOptions co;
  co.cert = cert_pem;
  co.key = key_pem;
  co.srtp = "SRTP_AEAD_AES_128_GCM";
  co.fingerprints = {std::move(room_fingerprint)};
  dtls::SessionListener me;
  me.on_rtp = [on_rtp](dtls::Session&, std::span<const std::uint8_t> p) {
    on_rtp(p);
  };
  return dtls::connect(loop, "127.0.0.1", port, co, me);
}
// README:end

}  // namespace example

#endif  // DTLS_SRTP_TESTS_README_EXAMPLE_H_
