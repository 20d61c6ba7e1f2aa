// A STUN Binding request as a full, controlling ICE agent (a browser) sends
// it (RFC 8445 §7.2.2): USERNAME, PRIORITY, ICE-CONTROLLING, optionally
// USE-CANDIDATE, MESSAGE-INTEGRITY with `pwd`, FINGERPRINT. An empty `user`
// leaves USERNAME out.
#ifndef DTLS_SRTP_TESTS_TESTING_ICE_CHECK_H_
#define DTLS_SRTP_TESTS_TESTING_ICE_CHECK_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace dtls::testing {

std::vector<std::uint8_t> ice_check(std::string_view user, std::string_view pwd,
                                    bool use_candidate,
                                    std::uint8_t transaction_byte = 1);

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_ICE_CHECK_H_
