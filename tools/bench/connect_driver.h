// Connects sessions to a server on 127.0.0.1 at a fixed concurrency, for the
// benchmark's handshake and idle-session phases. Client loop only.
#ifndef DTLS_SRTP_TOOLS_BENCH_CONNECT_DRIVER_H_
#define DTLS_SRTP_TOOLS_BENCH_CONNECT_DRIVER_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <future>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tools/bench/bench_support.h"
#include "transport/dtls_api.h"

namespace dtls::bench {

// Connects `total` sessions, `concurrency` at a time: each one that opens (or
// fails) starts the next. With keep_open the sessions stay (the idle-session
// phase); without, each closes once open (the handshake phase).
struct ConnectDriver {
  ConnectDriver(EventLoop* l, std::uint16_t p, ConnectOptions o, int n,
                bool keep)
      : loop(l), port(p), options(std::move(o)), total(n), keep_open(keep) {}

  EventLoop* loop;
  std::uint16_t port;
  ConnectOptions options;
  int total;
  bool keep_open;
  int started = 0, done = 0, failures = 0, reused = 0;
  std::uint64_t retransmits = 0;
  std::vector<double> latencies_ms;
  std::vector<Session> open;
  std::promise<void> finished;

  void start(int concurrency) {
    if (total == 0) {
      finished.set_value();
      return;
    }
    for (int i = 0; i < std::min(concurrency, total); ++i) start_one();
  }
  void start_one() {
    ++started;
    const auto t0 = std::chrono::steady_clock::now();
    auto s = connect(*loop, "127.0.0.1", port, options);
    if (!s.ok()) {
      finish_one(false, t0);
      return;
    }
    if (keep_open) open.push_back(*s);
    // The callback holds the handle until it runs; closing then is graceful.
    s->on_opened(
        [this, t0, session = *s](const Result<std::string>& r) mutable {
          if (r.ok() && session.is_session_reused()) ++reused;
          retransmits += session.stats().retransmit_count;
          if (!keep_open) {
            session.close();
          } else if (r.ok()) {
            // A WebRTC peer speaks at once after its handshake (its first
            // SCTP or SRTCP packet). That tells the server the client has
            // its last flight, and the server lets OpenSSL go (RFC 6347
            // §4.2.4, AssociationOptions::release_after_handshake).
            (void)session.send(std::string_view("x"));
          }
          finish_one(r.ok(), t0);
        });
  }
  void finish_one(bool ok, std::chrono::steady_clock::time_point t0) {
    latencies_ms.push_back(seconds_since(t0) * 1e3);
    if (!ok) ++failures;
    if (++done == total) {
      finished.set_value();
    } else if (started < total) {
      start_one();
    }
  }
};

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_CONNECT_DRIVER_H_
