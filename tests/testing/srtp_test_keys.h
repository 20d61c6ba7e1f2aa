// Fixed SRTP keys for tests where their values do not matter: each of the
// four (client and server key and salt) of the profile's length, filled with
// its own byte, so the directions differ.
#ifndef DTLS_SRTP_TESTS_TESTING_SRTP_TEST_KEYS_H_
#define DTLS_SRTP_TESTS_TESTING_SRTP_TEST_KEYS_H_

#include "srtp/srtp_keys.h"
#include "srtp/srtp_profile.h"

namespace dtls::testing {

srtp::SrtpKeys fixed_srtp_keys(srtp::Profile profile);

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_SRTP_TEST_KEYS_H_
