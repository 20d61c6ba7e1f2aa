// What an SFU changes in an RTP header per subscriber before it protects the
// packet for them: the SSRC, payload type, sequence number or timestamp a
// subscriber expects (RFC 3550 §5.1 fixed header). Fields left unset stay.
#ifndef DTLS_SRTP_TRANSPORT_ENDPOINT_RTP_REWRITE_H_
#define DTLS_SRTP_TRANSPORT_ENDPOINT_RTP_REWRITE_H_

#include <cstdint>
#include <optional>
#include <span>

namespace dtls {

struct RtpRewrite {
  std::optional<std::uint32_t> ssrc = std::nullopt;
  std::optional<std::uint8_t> payload_type = std::nullopt;  // 0..127; M stays
  std::optional<std::uint16_t> sequence = std::nullopt;
  std::optional<std::uint32_t> timestamp = std::nullopt;

  // Applies to `rtp` in place; false (and nothing changed) when it is not an
  // RTP packet with a whole fixed header (shorter than 12 bytes, version not
  // 2), or payload_type is over 127.
  bool apply(std::span<std::uint8_t> rtp) const;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_ENDPOINT_RTP_REWRITE_H_
