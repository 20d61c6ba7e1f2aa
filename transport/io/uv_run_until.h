// Runs a libuv loop until a condition holds or a time limit passes. The
// condition is checked from a repeating uv timer, so the loop sleeps in the
// kernel in between.
#ifndef DTLS_SRTP_TRANSPORT_IO_UV_RUN_UNTIL_H_
#define DTLS_SRTP_TRANSPORT_IO_UV_RUN_UNTIL_H_

#include <uv.h>

#include <chrono>
#include <functional>

namespace dtls {

// True when `done` held before `limit` passed.
bool uv_run_until(
    uv_loop_t* loop, const std::function<bool()>& done,
    std::chrono::milliseconds limit,
    std::chrono::milliseconds period = std::chrono::milliseconds(1));

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_IO_UV_RUN_UNTIL_H_
