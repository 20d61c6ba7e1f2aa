// Test-only: makes OpenSSL's DTLS retransmission timer read the simulated
// clock.
//
// OpenSSL 3.0 times DTLS retransmissions with gettimeofday() and offers no hook
// for another clock. A test binary that links this library defines gettimeofday
// itself, so libssl's calls resolve here (the executable comes first in symbol
// lookup); while a simulated time is set, they return it, otherwise the real
// time. The library proper never does this.
#ifndef DTLS_SRTP_TESTS_TESTING_FAKE_WALL_CLOCK_H_
#define DTLS_SRTP_TESTS_TESTING_FAKE_WALL_CLOCK_H_

#include "transport/base/time.h"

namespace dtls::testing {

// From now on gettimeofday() returns a fixed wall time plus (now -
// TimePoint{}).
void set_wall_clock(TimePoint now);
// time() returns the real time plus `offset` (OpenSSL 3.0 dates and expires
// sessions with time(NULL); certificate checks read it too).
void set_time_offset(std::chrono::seconds offset);
// Back to the real clock.
void use_real_wall_clock();
// Whether this binary's gettimeofday and time are the shims (a link-order check
// for the tests).
bool wall_clock_is_simulated();

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_FAKE_WALL_CLOCK_H_
