// Test-only: sets how many more RTP packets a master key of an SrtpContext
// may protect (or unprotect), as if it had already done 2^48 - n (RFC 3711
// §9.2). The context counts them itself (KeyUsage) as libsrtp counts them:
// soft-limit events for each of the last 2^16 packets, the hard limit at the
// last. The overload on a bare libsrtp session writes libsrtp's private
// structures, so it works only for the libsrtp built from source (false with
// --define libsrtp=system). Also what else a test reads of a context's
// insides.
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
  // The lines the context's next RTP protect reads, as its sender keeps them.
  static const FetchList& protect_lines(const SrtpContext& context) {
    return context.protect_lines_;
  }
};

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_KEY_LIMIT_TESTING_H_
