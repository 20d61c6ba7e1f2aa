// The time type of the protocol cores. Cores never read a clock: callers pass
// "now".
#ifndef DTLS_SRTP_TRANSPORT_BASE_TIME_H_
#define DTLS_SRTP_TRANSPORT_BASE_TIME_H_

#include <chrono>

namespace dtls {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Duration = Clock::duration;

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_BASE_TIME_H_
