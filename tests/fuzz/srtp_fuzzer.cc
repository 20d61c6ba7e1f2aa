// Untrusted SRTP/SRTCP: the first input byte picks the profile and whether the
// rest is taken as RTP or RTCP. The rest is unprotected as received (it must
// be refused or come out no longer than it went in), and it is also protected
// and unprotected by a peer, which must give back exactly the same bytes.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "srtp/srtp_context.h"

namespace {

using dtls::srtp::Profile;
using dtls::srtp::SrtpContext;

struct Pair {
  std::unique_ptr<SrtpContext> sender, receiver, receiver_of_raw;
};

Pair make_pair(Profile p) {
  const auto& info = dtls::srtp::profile_info(p);
  dtls::srtp::SrtpKeys k;
  k.profile = p;
  k.client_key.assign(info.key_length, 0x11);
  k.server_key.assign(info.key_length, 0x22);
  k.client_salt.assign(info.salt_length, 0x33);
  k.server_salt.assign(info.salt_length, 0x44);
  auto make = [&](dtls::srtp::Side side) {
    auto c = SrtpContext::create(k, side);
    if (!c.ok()) std::abort();
    return std::move(c).value();
  };
  return {make(dtls::srtp::Side::kClient), make(dtls::srtp::Side::kServer),
          make(dtls::srtp::Side::kServer)};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // Fresh contexts per input keep runs independent of each other's replay
  // windows.
  const Profile profile = static_cast<Profile>(data[0] & 3);
  const bool rtcp = (data[0] & 4) != 0;
  Pair pair = make_pair(profile);
  std::vector<std::uint8_t> packet(data + 1, data + size);

  std::vector<std::uint8_t> raw = packet;
  auto r = rtcp ? pair.receiver_of_raw->unprotect_rtcp(raw)
                : pair.receiver_of_raw->unprotect_rtp(raw);
  if (r.ok() && r.length > raw.size()) std::abort();

  std::vector<std::uint8_t> buf = packet;
  buf.resize(packet.size() + dtls::srtp::kMaxTrailer);
  auto p = rtcp ? pair.sender->protect_rtcp(buf, packet.size())
                : pair.sender->protect_rtp(buf, packet.size());
  if (!p.ok()) return 0;
  if (p.length > buf.size()) std::abort();
  std::span<std::uint8_t> wire(buf.data(), p.length);
  auto u = rtcp ? pair.receiver->unprotect_rtcp(wire)
                : pair.receiver->unprotect_rtp(wire);
  if (!u.ok() || u.length != packet.size() ||
      std::memcmp(buf.data(), packet.data(), packet.size()) != 0) {
    std::abort();  // what we protect, our peer must get back exactly
  }
  return 0;
}
