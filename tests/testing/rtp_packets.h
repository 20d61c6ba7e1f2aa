// RTP and RTCP packets for tests: a fixed 12-byte RTP header (RFC 3550 §5.1,
// payload type 96) and an RTCP receiver report without blocks (§6.4.2).
#ifndef DTLS_SRTP_TESTS_TESTING_RTP_PACKETS_H_
#define DTLS_SRTP_TESTS_TESTING_RTP_PACKETS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dtls::testing {

// Payload bytes count up from the sequence number, so packets differ.
std::vector<std::uint8_t> make_rtp(std::uint32_t ssrc, std::uint16_t seq,
                                   size_t payload);
// 16 bytes: the report header, the sender's SSRC, 8 bytes of profile data.
std::vector<std::uint8_t> make_rtcp(std::uint32_t ssrc);

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_RTP_PACKETS_H_
