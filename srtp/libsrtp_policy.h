// One libsrtp session (srtp_t) for a profile and master key, with the policy
// SrtpContext uses; shared with the benchmarks that measure raw libsrtp.
#ifndef DTLS_SRTP_SRTP_LIBSRTP_POLICY_H_
#define DTLS_SRTP_SRTP_LIBSRTP_POLICY_H_

#include <srtp2/srtp.h>

#include <cstdint>
#include <span>

#include "srtp/srtp_profile.h"

namespace dtls::srtp {

// `master` is key || salt. Outbound sessions take any SSRC we send, inbound
// ones any SSRC we receive. srtp_init() must have run (ensure_initialized()).
srtp_err_status_t create_libsrtp_session(srtp_t* out, Profile profile,
                                         std::span<const std::uint8_t> master,
                                         bool outbound, size_t replay_window,
                                         bool allow_repeat_tx);

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_LIBSRTP_POLICY_H_
