// RFC 7983 demultiplexing of one UDP port: the first byte tells STUN, DTLS and
// SRTP/SRTCP apart.
#ifndef DTLS_SRTP_TRANSPORT_ENDPOINT_DEMUX_H_
#define DTLS_SRTP_TRANSPORT_ENDPOINT_DEMUX_H_

#include <array>
#include <cstdint>
#include <span>

namespace dtls {

enum class PacketKind : std::uint8_t {
  kStun,     // first byte 0..3
  kZrtp,     // 16..19 (RFC 7983 §7; not used by WebRTC, counted and dropped by
             // callers)
  kDtls,     // 20..63
  kTurn,     // 64..79 (TURN ChannelData)
  kRtp,      // 128..191, payload type not in the RTCP range
  kRtcp,     // 128..191, second byte 192..223 (RFC 5761 §4)
  kUnknown,  // anything else, including empty datagrams
};
inline constexpr size_t kPacketKinds = 7;

// Classifies one datagram. Total and branch-free on the bytes it reads (at most
// two).
PacketKind classify(std::span<const std::uint8_t> datagram);

const char* to_string(PacketKind kind);

// Per-kind datagram counters for an endpoint's stats.
struct DemuxCounters {
  std::array<std::uint64_t, kPacketKinds> packets{};
  void count(PacketKind kind) { ++packets[static_cast<size_t>(kind)]; }
  std::uint64_t operator[](PacketKind kind) const {
    return packets[static_cast<size_t>(kind)];
  }
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_ENDPOINT_DEMUX_H_
