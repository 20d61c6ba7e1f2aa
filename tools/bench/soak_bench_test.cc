// The churn soak against a real server endpoint on loopback: sessions join
// and leave while media flows; the process's RSS and descriptors stay flat,
// nothing fails, everything sent arrives, and once the soak ends every
// session and descriptor is given back. DTLS_SRTP_SOAK_SECONDS sets the
// length (the tagged //tools/bench:soak_test runs 600 s).
#include "tools/bench/soak_bench.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "tools/bench/bench_support.h"

namespace dtls::bench {
namespace {

double soak_seconds() {
  const char* v = std::getenv("DTLS_SRTP_SOAK_SECONDS");
  return v ? std::atof(v) : 6;
}

TEST(SoakBench, SessionsComeAndGoAndEverythingIsGivenBack) {
  const double seconds = soak_seconds();
  ASSERT_GT(seconds, 0);
  auto s_id = identity(), c_id = identity();
  ASSERT_TRUE(s_id.ok() && c_id.ok());
  auto server_loop = EventLoop::start("soak-server");
  auto client_loop = EventLoop::start("soak-client");
  ASSERT_TRUE(server_loop.ok() && client_loop.ok());
  std::atomic<std::uint64_t> received{0};
  ListenOptions lo;
  lo.cert = s_id->cert;
  lo.key = s_id->key;
  lo.fingerprints = {c_id->fingerprint};
  lo.host = "127.0.0.1";
  lo.port = 0;
  // Bursts of a tick's packets while this machine runs three busy threads
  // on two cores: the default buffer (208 KiB) overflows now and then.
  lo.recv_buffer_size = 4 << 20;
  lo.srtp = "SRTP_AEAD_AES_128_GCM";
  auto endpoint = listen(
      **server_loop,
      [&received](Session s) {
        s.on_rtp([&received](std::span<const std::uint8_t>) {
          received.fetch_add(1, std::memory_order_relaxed);
        });
      },
      lo);
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  const int descriptors_before = open_descriptors();

  SoakOptions so;
  so.seconds = seconds;
  so.sample_every_s = seconds / 12;
  SoakSetup ss;
  ss.server = server_loop->get();
  ss.endpoint = &*endpoint;
  ss.client = client_loop->get();
  ss.port = endpoint->address().port;
  ss.connect.cert = c_id->cert;
  ss.connect.key = c_id->key;
  ss.connect.fingerprints = {s_id->fingerprint};
  ss.connect.srtp = "SRTP_AEAD_AES_128_GCM";
  ss.received = [&] { return received.load(); };
  auto r = run_soak(so, ss);
  ASSERT_TRUE(r.ok()) << r.error().to_string();
  std::fputs(format_soak(*r).c_str(), stdout);

  const SoakSample& last = r->samples.back();
  if (memory_measurable()) {
    EXPECT_TRUE(r->flat()) << format_soak(*r);
  } else {  // LSan checks the memory at exit instead
    EXPECT_LE(r->descriptor_growth(), 16 + so.churn_per_s);
    EXPECT_LE(r->max_extra_deadlines(), 3);
  }
  EXPECT_EQ(last.failures, 0u);
  // The churn ran: about churn_per_s sessions replaced each second.
  EXPECT_GE(last.left,
            static_cast<std::uint64_t>(so.churn_per_s * seconds / 2));
  EXPECT_GE(last.joined, last.left + so.sessions - 1);
  // Loopback with a large enough buffer loses nothing; packets still in
  // flight when the last sample was taken are all that may be missing.
  EXPECT_GE(last.received + so.sessions, last.sent);
  // Everything given back: sessions on both sides, and their sockets.
  for (int i = 0; i < 500 && (state_of(*endpoint).session_count > 0 ||
                              open_descriptors() > descriptors_before);
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(state_of(*endpoint).session_count, 0u);
  EXPECT_EQ(open_descriptors(), descriptors_before);
  endpoint->close();
}

}  // namespace
}  // namespace dtls::bench
