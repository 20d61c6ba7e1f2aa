#include "tests/testing/rtp_packets.h"

namespace dtls::testing {
namespace {

void put32(std::vector<std::uint8_t>& p, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    p.push_back(static_cast<std::uint8_t>(v >> shift));
}

}  // namespace

std::vector<std::uint8_t> make_rtp(std::uint32_t ssrc, std::uint16_t seq,
                                   size_t payload) {
  std::vector<std::uint8_t> p = {0x80, 96, static_cast<std::uint8_t>(seq >> 8),
                                 static_cast<std::uint8_t>(seq)};
  put32(p, 0xdeadbeef);  // timestamp
  put32(p, ssrc);
  for (size_t i = 0; i < payload; ++i)
    p.push_back(static_cast<std::uint8_t>(seq + i));
  return p;
}

std::vector<std::uint8_t> make_rtcp(std::uint32_t ssrc) {
  std::vector<std::uint8_t> p = {0x80, 201, 0, 3};  // RR, length 3 words
  put32(p, ssrc);
  p.resize(16, 0x5a);
  return p;
}

}  // namespace dtls::testing
