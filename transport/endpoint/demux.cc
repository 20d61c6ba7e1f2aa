#include "transport/endpoint/demux.h"

namespace dtls {

PacketKind classify(std::span<const std::uint8_t> datagram) {
  if (datagram.empty()) return PacketKind::kUnknown;
  const std::uint8_t b = datagram[0];
  // RFC 7983 §7:
  //                  +----------------+
  //                  |        [0..3] -+--> forward to STUN
  //                  |      [16..19] -+--> forward to ZRTP
  //      packet -->  |      [20..63] -+--> forward to DTLS
  //                  |      [64..79] -+--> forward to TURN Channel
  //                  |    [128..191] -+--> forward to RTP/RTCP
  //                  +----------------+
  if (b <= 3) return PacketKind::kStun;
  if (b >= 16 && b <= 19) return PacketKind::kZrtp;
  if (b >= 20 && b <= 63) return PacketKind::kDtls;
  if (b >= 64 && b <= 79) return PacketKind::kTurn;
  if (b >= 128 && b <= 191) {
    // RFC 5761 §4: with RTP and RTCP multiplexed, RTCP packet types 192..223
    // occupy the second byte where RTP has marker bit + payload type; RTP
    // payload types 64..95 are avoided.
    if (datagram.size() >= 2 && datagram[1] >= 192 && datagram[1] <= 223)
      return PacketKind::kRtcp;
    return PacketKind::kRtp;
  }
  return PacketKind::kUnknown;
}

const char* to_string(PacketKind kind) {
  switch (kind) {
    case PacketKind::kStun:
      return "stun";
    case PacketKind::kZrtp:
      return "zrtp";
    case PacketKind::kDtls:
      return "dtls";
    case PacketKind::kTurn:
      return "turn";
    case PacketKind::kRtp:
      return "rtp";
    case PacketKind::kRtcp:
      return "rtcp";
    case PacketKind::kUnknown:
      return "unknown";
  }
  return "unknown";
}

}  // namespace dtls
