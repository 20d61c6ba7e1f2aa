// The loopback DTLS-SRTP benchmark: our stack on 127.0.0.1 (a server endpoint
// on one EventLoop thread, the clients on another, so one core per side) and,
// in the same run, the machine's ceilings for the same work: raw UDP loopback
// with the same batching, libsrtp protect+unprotect in process, and OpenSSL
// DTLS handshakes in memory. Every figure of ours comes with its ceiling.
#ifndef DTLS_SRTP_TOOLS_BENCH_LOOPBACK_BENCH_H_
#define DTLS_SRTP_TOOLS_BENCH_LOOPBACK_BENCH_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tools/bench/scale_bench.h"
#include "tools/bench/soak_bench.h"
#include "transport/base/error.h"

namespace dtls::bench {

struct BenchOptions {
  int handshakes = 300;  // handshake phase: how many
  int concurrency = 16;  // in flight at once
  int sessions = 4;      // media phase: client sessions sending at once
  std::vector<size_t> payloads = {200, 600, 1200};  // RTP payload bytes
  double duration_s = 0.8;                          // per media point
  // Each point's time is cut into this many slices, interleaved with slices
  // of its raw UDP ceiling; the point's ratio is the median of the slices'.
  int repeats = 3;  // the one-core handshake phase too
  // Media datagrams per send system call: 1 is one uv_udp_try_send per
  // packet; more corks each session around a burst of that many (sendmmsg,
  // at most SendBatch::kCapacity). The UDP ceiling sends the same way.
  int send_batch = 16;
  // The media server's SO_RCVBUF, and the UDP ceiling receiver's (0: the
  // kernel's default). Flat out, a default buffer (208 KiB) overflows on
  // bursts while the receiving core still has time to spare.
  size_t recv_buffer = 4 << 20;
  // UDP GSO and GRO, for ours and the UDP ceiling alike.
  bool udp_offload = true;
  std::vector<std::string> profiles = {
      "SRTP_AES128_CM_SHA1_80", "SRTP_AES128_CM_SHA1_32",
      "SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_256_GCM"};
  bool ceilings = true;
  // The handshake phase runs again with 2..max_workers server loops on the
  // port (SO_REUSEPORT, shared cookie secret).
  int max_workers = 2;
  // Many-sessions phase (scale_bench.h): this many idle established
  // sessions on the server (0 skips it), the clients in child processes
  // (this binary's `bench-idle-clients`), so the server's RSS growth is its
  // own; the OpenSSL floor over min(this, 2,000) sessions.
  int idle_sessions = 20000;
  // Then this many half-open handshakes (peers that answer the cookie and go
  // silent, ListenOptions::max_half_open): the server's RSS per one (0 skips).
  int half_open = 1000;
  std::string self_path;  // this binary, for the child; empty: /proc/self/exe
  // The churn soak (soak_bench.h) for this many seconds at the end; 0 skips
  // it (the main job's default).
  double soak_seconds = 0;
};

struct HandshakeResult {
  int workers = 1;  // server loops sharing the port
  int count = 0;
  int failures = 0;
  double seconds = 0;
  double per_second = 0;
  double p50_ms = 0, p99_ms = 0;
  double server_cpu_s = 0, client_cpu_s = 0;
  double ceiling_per_second = 0;  // in-memory OpenSSL, both ends on one core
  int reused = 0;                 // handshakes that resumed a session
  // The clients' timer-driven flight retransmissions: none is needed on
  // loopback, so each one is a timeout the load made spurious.
  std::uint64_t retransmits = 0;
  // One-core runs: each slice of ours beside the in-memory ceiling's slice
  // run just before it on the same CPU (empty without ceilings).
  struct Slice {
    double ours_per_s = 0, ceiling_per_s = 0;
  };
  std::vector<Slice> slices;
  // ours / in-memory: the median over slices, so a slice the VM slowed moves
  // one sample, not the figure. Without slices, per_second /
  // ceiling_per_second (0 without a ceiling).
  double ratio() const;
};

struct MediaResult {
  std::string profile;
  size_t payload = 0;
  std::uint64_t sent = 0, received = 0;
  double seconds = 0;
  double sent_pps = 0, received_pps = 0;
  double gbit_per_s = 0;  // received payload
  double loss = 0;        // 1 - received / sent
  double sender_cpu_s = 0, receiver_cpu_s = 0;
  double udp_ceiling_pps = 0;   // raw UDP, same datagram size and batching
  double srtp_ceiling_pps = 0;  // libsrtp protect + unprotect on one core
  // Each slice of ours beside the UDP ceiling's slice just before it (empty
  // without ceilings).
  struct Slice {
    double ours_pps = 0, udp_pps = 0;
  };
  std::vector<Slice> slices;
  double ceiling_pps() const;
  // ours / min(UDP, libsrtp): the median over slices, so a neighbour that
  // steals one slice moves one sample, not the figure. Without slices,
  // received_pps / ceiling_pps.
  double ratio() const;
  // What one sender core doing both the raw UDP send and the protect half of
  // the libsrtp ceiling, one after the other, would reach:
  // 1 / (1/udp + 1/(2 srtp)). ours / that (median over slices) is our own
  // overhead on top of the kernel's and the crypto's: 1.0 is none. Needs
  // both ceilings; 0 otherwise.
  double serial_bound_pps() const;
  double bound_ratio() const;
};

// Where the media phase runs: the sender (our clients' loop, the UDP
// ceiling's sending thread, the libsrtp ceiling) on one CPU, the receiver
// (our server's loop, the UDP ceiling's receiving thread) on another, so
// ours and its ceilings get the same cores. -1: not pinned (fewer than two
// CPUs allowed, or the kernel refused).
struct CorePair {
  int sender = -1, receiver = -1;
};

struct BenchResult {
  HandshakeResult handshake;  // one worker
  // The same with the resources of the in-memory ceiling: the clients on the
  // server's loop (one thread, as the ceiling runs both ends on one), pinned
  // to one CPU, in `repeats` slices each after a slice of the ceiling on that
  // CPU; ratio() is the "75 % of the in-memory rate". count 0 when
  // the machine would not pin threads.
  HandshakeResult handshake_one_core;
  std::vector<HandshakeResult> handshake_workers;  // 2..max_workers
  // node-style sessions (CA mode, no pinning, tickets on): full handshakes,
  // then the same count resuming one session (RFC 5077 ticket).
  HandshakeResult tickets_full, tickets_resumed;
  MemoryResult memory;
  int send_batch = 1;  // media datagrams per send call (BenchOptions)
  bool udp_offload = true;
  // SO_RCVBUF as the kernel granted it: net.core.rmem_max caps the request,
  // and Linux reports twice what it grants.
  int recv_buffer_granted = 0;
  CorePair media_cores;
  std::vector<MediaResult> media;
  std::optional<SoakResult> soak;
};

// Progress lines for long phases ("media SRTP_AEAD_AES_128_GCM 1200 B ...").
using Progress = std::function<void(const std::string&)>;

Result<BenchResult> run_loopback_bench(const BenchOptions& options,
                                       const Progress& progress);

// The ceilings on their own.
// SO_RCVBUF as the kernel reports it after a request for `asked` bytes (0:
// its default).
int granted_receive_buffer(size_t asked);

struct UdpCeilingSetup {
  size_t recv_buffer = 0;  // SO_RCVBUF; 0: the kernel's default
  bool offload = true;     // UDP GSO on the sender, GRO on the receiver
};
double udp_loopback_pps(size_t datagram, double seconds, int send_batch = 1,
                        CorePair cores = {}, UdpCeilingSetup setup = {});
Result<double> libsrtp_protect_unprotect_pps(const std::string& profile,
                                             size_t payload, double seconds,
                                             int cpu = -1);

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_LOOPBACK_BENCH_H_
