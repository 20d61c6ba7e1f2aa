#include "transport/endpoint/rtp_rewrite.h"

namespace dtls {
namespace {

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, static_cast<std::uint16_t>(v >> 16));
  put16(p + 2, static_cast<std::uint16_t>(v));
}

}  // namespace

bool RtpRewrite::apply(std::span<std::uint8_t> rtp) const {
  // RFC 3550 §5.1: V(2) P X CC | M PT(7) | sequence(16) | timestamp(32) |
  // SSRC(32), network byte order.
  if (rtp.size() < 12 || (rtp[0] >> 6) != 2) return false;
  if (payload_type && *payload_type > 127) return false;
  if (payload_type) {
    rtp[1] = static_cast<std::uint8_t>((rtp[1] & 0x80) | *payload_type);
  }
  if (sequence) put16(&rtp[2], *sequence);
  if (timestamp) put32(&rtp[4], *timestamp);
  if (ssrc) put32(&rtp[8], *ssrc);
  return true;
}

}  // namespace dtls
