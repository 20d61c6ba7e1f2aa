// The client half of RFC 6347 §4.2.1 by hand, for tests that play peers which
// answer a cookie and then go silent (half-open handshakes): the cookie of a
// HelloVerifyRequest, and a first ClientHello rebuilt with it.
#ifndef DTLS_SRTP_TESTS_TESTING_COOKIE_EXCHANGE_H_
#define DTLS_SRTP_TESTS_TESTING_COOKIE_EXCHANGE_H_

#include <cstdint>
#include <span>
#include <vector>

namespace dtls::testing {

// The cookie of a HelloVerifyRequest datagram; empty when it is not one.
std::span<const std::uint8_t> hello_verify_cookie(
    std::span<const std::uint8_t> datagram);

// `hello` (a first ClientHello in one record, without a cookie) with `cookie`
// in it: the second ClientHello (message_seq 1, the next record number).
std::vector<std::uint8_t> client_hello_with_cookie(
    std::span<const std::uint8_t> hello, std::span<const std::uint8_t> cookie);

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_COOKIE_EXCHANGE_H_
