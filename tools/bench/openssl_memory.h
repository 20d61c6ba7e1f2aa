// OpenSSL DTLS with nothing of ours around it: two SSL objects over memory
// BIOs on one thread, the same certificates, use_srtp and keying export our
// handshakes use. The benchmark's in-memory handshake ceiling and its floor
// for what an established session must hold.
#ifndef DTLS_SRTP_TOOLS_BENCH_OPENSSL_MEMORY_H_
#define DTLS_SRTP_TOOLS_BENCH_OPENSSL_MEMORY_H_

#include "transport/base/error.h"

namespace dtls::bench {

// Handshakes per second, both ends on the calling thread (on a thread of its
// own pinned to `cpu` when cpu >= 0). No sockets, cookie exchange or timers.
Result<double> openssl_memory_handshakes_per_second(int count, int cpu = -1);

// The least an OpenSSL-based DTLS-SRTP session can hold once established:
// `count` server-side SSL objects after a full handshake (mutual ECDSA P-256,
// use_srtp with AEAD_AES_128_GCM, keying export), their record buffers
// released (SSL_free_buffers) and their BIOs null, each with the two libsrtp
// sessions (inbound and outbound) its exported keys make: the heap in use
// per server session, in KiB, once the client ends are freed (in use, not
// RSS: the freed client ends leave holes that keep pages resident).
struct SessionFloor {
  int sessions = 0;
  double kib_per_session = 0;
};
Result<SessionFloor> openssl_session_floor(int count);

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_OPENSSL_MEMORY_H_
