// Test-only: sets how many more packets a master key of an SrtpContext may
// protect (or unprotect) inside libsrtp, as if it had already done 2^48 - n
// (RFC 3711 §9.2). libsrtp keeps one count per master key, shared by the
// streams of every SSRC, and then raises its own events: soft-limit for each
// of the last 2^16 packets, hard-limit at the last. libsrtp's public API has
// no way to lower the limit, so this writes its private structures; only for
// the libsrtp built from source (false with --define libsrtp=system).
#ifndef DTLS_SRTP_SRTP_KEY_LIMIT_TESTING_H_
#define DTLS_SRTP_SRTP_KEY_LIMIT_TESTING_H_

#include <cstdint>

#include "srtp/srtp_context.h"

namespace dtls::srtp {

enum class KeyDirection { kOutbound, kInbound };

struct SrtpContextTesting {
  static bool set_packets_left(SrtpContext& context, KeyDirection direction,
                               std::uint64_t packets);
  // The same for a libsrtp session of one's own.
  static bool set_packets_left(srtp_ctx_t_* session, std::uint64_t packets);
};

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_KEY_LIMIT_TESTING_H_
