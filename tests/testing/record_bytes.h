// DTLS records and handshake fragments as bytes, for tests that craft what a
// peer (or an attacker) sends (RFC 6347 §4.1, §4.2.2).
#ifndef DTLS_SRTP_TESTS_TESTING_RECORD_BYTES_H_
#define DTLS_SRTP_TESTS_TESTING_RECORD_BYTES_H_

#include <cstdint>
#include <vector>

namespace dtls::testing {

// A record: type, version, epoch, 48-bit sequence number, length, `body`.
std::vector<std::uint8_t> dtls_record_bytes(
    std::uint8_t type, std::uint16_t version, std::uint16_t epoch,
    std::uint64_t sequence, const std::vector<std::uint8_t>& body);

// A handshake fragment: type, message length, message_seq, fragment offset,
// fragment length, `bytes`.
std::vector<std::uint8_t> handshake_fragment(
    std::uint8_t type, std::uint32_t message_length, std::uint16_t message_seq,
    std::uint32_t offset, const std::vector<std::uint8_t>& bytes);

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_RECORD_BYTES_H_
