#include "srtp/key_limit_testing.h"

#ifndef SYSTEM_LIBSRTP
// The layout of srtp_ctx_t_, its stream template and srtp_key_limit_ctx_t in
// the libsrtp source Bazel builds.
#include "srtp_priv.h"
#endif

namespace dtls::srtp {

bool SrtpContextTesting::set_packets_left(SrtpContext& context,
                                          KeyDirection direction,
                                          std::uint64_t packets) {
  (direction == KeyDirection::kOutbound ? context.outbound_usage_
                                        : context.inbound_usage_)
      .set_left(packets);
  return true;
}

bool SrtpContextTesting::set_packets_left(srtp_ctx_t_* session,
                                          std::uint64_t packets) {
#ifdef SYSTEM_LIBSRTP
  (void)session;
  (void)packets;
  return false;
#else
  // One master key (no MKI): session_keys[0]. Streams made for new SSRCs
  // share the template's count (srtp_key_limit_clone copies the pointer).
  srtp_key_limit_ctx_t* limit = session->stream_template->session_keys[0].limit;
  // srtp_key_limit_set() takes no less than its soft limit (2^16); the state
  // it sets is the same.
  limit->num_left = packets;
  limit->state = srtp_key_state_normal;
  return true;
#endif
}

}  // namespace dtls::srtp
