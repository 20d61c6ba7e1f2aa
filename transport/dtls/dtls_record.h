// Just enough DTLS 1.2 wire parsing to answer a ClientHello statelessly (RFC
// 6347 §4.1, §4.2). Everything here reads untrusted bytes: every length is
// checked, nothing is allocated.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_DTLS_RECORD_H_
#define DTLS_SRTP_TRANSPORT_DTLS_DTLS_RECORD_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

namespace dtls {

// RFC 6347 §4.1 / RFC 5246 §6.2.1 content types.
inline constexpr std::uint8_t kContentChangeCipherSpec = 20;
inline constexpr std::uint8_t kContentAlert = 21;
inline constexpr std::uint8_t kContentHandshake = 22;
inline constexpr std::uint8_t kContentApplicationData = 23;
// RFC 6347 §4.1: DTLS 1.0 is {254, 255}, DTLS 1.2 {254, 253}.
inline constexpr std::uint16_t kDtls10Version = 0xFEFF;
inline constexpr std::uint16_t kDtls12Version = 0xFEFD;
// RFC 5246 §6.2.1: TLSPlaintext.length MUST NOT exceed 2^14; §6.2.3:
// TLSCiphertext.length MUST NOT exceed 2^14 + 2048.
inline constexpr size_t kMaxPlaintextLength = size_t{1} << 14;
inline constexpr size_t kMaxProtectedLength = (size_t{1} << 14) + 2048;
inline constexpr std::uint8_t kHandshakeHelloRequest = 0;
inline constexpr std::uint8_t kHandshakeClientHello = 1;
inline constexpr std::uint8_t kHandshakeHelloVerifyRequest = 3;
inline constexpr size_t kRecordHeaderSize = 13;     // RFC 6347 §4.1
inline constexpr size_t kHandshakeHeaderSize = 12;  // RFC 6347 §4.2.2
inline constexpr size_t kMaxCookieSize =
    255;  // RFC 6347 §4.2.1 (opaque cookie<0..2^8-1>)

struct RecordHeader {
  std::uint8_t content_type = 0;
  std::uint16_t version = 0;
  std::uint16_t epoch = 0;
  std::uint64_t sequence = 0;  // 48 bits
  std::uint16_t length = 0;
};

// The parts of the first fragment of a ClientHello that a stateless cookie
// binds to. The spans point into the datagram passed to
// parse_client_hello_prefix.
struct ClientHelloPrefix {
  RecordHeader record;
  std::uint16_t message_seq = 0;
  std::uint32_t message_length = 0;
  std::uint32_t fragment_length = 0;
  std::uint16_t client_version = 0;
  std::span<const std::uint8_t> random;      // 32 bytes
  std::span<const std::uint8_t> session_id;  // 0..32 bytes
  std::span<const std::uint8_t> cookie;      // 0..255 bytes
};

std::optional<RecordHeader> parse_record_header(
    std::span<const std::uint8_t> datagram);

// The first record of `datagram` if it is an epoch-0 handshake record holding
// the first fragment (offset 0) of a ClientHello that reaches at least past the
// cookie; else nullopt.
std::optional<ClientHelloPrefix> parse_client_hello_prefix(
    std::span<const std::uint8_t> datagram);

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_DTLS_RECORD_H_
