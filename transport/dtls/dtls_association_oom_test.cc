// OpenSSL out of memory during a handshake, from each of its allocations in
// turn on: every association ends, open or failed with an error code, never
// stuck and never crashing; when both open, their SRTP keys agree; and the
// next handshake, with memory back, completes (nothing failed is kept). An
// open association that needs no OpenSSL allocation outlives it. Under the
// sanitizers, nothing leaks.
// OpenSSL's allocator is replaced: a binary of its own.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>

#include "tests/testing/dtls_pair.h"
#include "tests/testing/openssl_alloc_failure.h"
#include "transport/dtls/dtls_association.h"

namespace dtls {
namespace {

using testing::DtlsPair;
using testing::PairConfig;
using testing::test_credentials;

PairConfig webrtc_config(const std::string& profile) {
  return testing::webrtc_pair_config(profile);
}

bool ended(const DtlsAssociation* a) {
  return a == nullptr || a->state() != DtlsAssociation::State::kHandshaking;
}

// The handshake with OpenSSL's allocations failing from the k-th on (the
// contexts and the client's first flight are made with memory). Returns
// whether any allocation failed.
bool handshake_failing_after(long k, const std::string& profile, int& opened,
                             int& failed) {
  DtlsPair p(webrtc_config(profile));
  EXPECT_TRUE(p.start());
  testing::fail_openssl_allocations_after(k);
  p.run_handshake();
  testing::allow_openssl_allocations();
  const long failures = testing::openssl_allocation_failures();
  SCOPED_TRACE("allocation " + std::to_string(k) + " on failing");
  EXPECT_TRUE(ended(p.client()));
  EXPECT_TRUE(ended(p.server()));
  if (p.both_open()) {
    ++opened;
    auto ck = p.client()->export_keying_material(60, "EXTRACTOR-dtls_srtp");
    auto sk = p.server()->export_keying_material(60, "EXTRACTOR-dtls_srtp");
    EXPECT_TRUE(ck.ok() && sk.ok());
    if (ck.ok() && sk.ok()) {
      EXPECT_EQ(*ck, *sk);
    }
  } else {
    ++failed;
    // What did not open says why, with a stable code.
    std::optional<Error> e = p.client_error()   ? p.client_error()
                             : p.server_error() ? p.server_error()
                                                : p.accept_error;
    EXPECT_TRUE(e.has_value());
    if (e) {
      EXPECT_EQ(e->code.rfind("ERR_", 0), 0u) << e->to_string();
    }
  }
  return failures > 0;
}

TEST(DtlsAssociationOutOfMemory, EveryHandshakeEndsAndNothingIsKept) {
  ASSERT_TRUE(testing::openssl_allocations_hooked());
  for (const std::string profile :
       {"SRTP_AEAD_AES_128_GCM", "SRTP_AES128_CM_SHA1_80"}) {
    SCOPED_TRACE(profile);
    // A first handshake with memory. Without it, out of memory in the
    // process's first handshake left every later one failing with OpenSSL's
    // "digital envelope routines::unsupported": OpenSSL 3.0 keeps what its
    // first fetch of an algorithm could not build. That is OpenSSL's, not
    // ours; what is tested here is the sessions' own state.
    {
      DtlsPair warm(webrtc_config(profile));
      ASSERT_TRUE(warm.start());
      warm.run_handshake();
      ASSERT_TRUE(warm.both_open());
    }
    // A handshake makes a few thousand allocations: every one of the first
    // 300, where the sessions' own state is made, then a sample.
    int opened = 0, failed = 0;
    long k = 0;
    for (; k < 100000; k += k < 300 ? 1 : 37) {
      if (!handshake_failing_after(k, profile, opened, failed)) break;
      if (::testing::Test::HasFailure()) return;
    }
    EXPECT_GT(k, 300) << "a handshake made fewer allocations than expected";
    EXPECT_GT(failed, 0);
    // With memory back, a handshake completes.
    DtlsPair p(webrtc_config(profile));
    ASSERT_TRUE(p.start());
    p.run_handshake();
    EXPECT_TRUE(p.both_open())
        << (p.client_error() ? p.client_error()->to_string() : "") << " / "
        << (p.server_error() ? p.server_error()->to_string() : "") << " / "
        << (p.accept_error ? p.accept_error->to_string() : "") << " hvr "
        << p.hello_verify_requests << " gate drops " << p.gate_drops
        << " client "
        << (p.client() ? static_cast<int>(p.client()->state()) : -1)
        << " server "
        << (p.server() ? static_cast<int>(p.server()->state()) : -1);
    std::printf(
        "%s: about %ld OpenSSL allocations in a handshake; failing from one "
        "of them on, %d handshakes still opened and %d failed\n",
        profile.c_str(), k, opened, failed);
  }
}

// Open associations while OpenSSL cannot allocate. One that needs OpenSSL
// then (a record arrives: its record buffers are made for it) fails with
// ERR_OUT_OF_MEMORY, since OpenSSL 3.0 fails an SSL whose buffers it cannot
// make. One that does not (its timers come up; media is not OpenSSL's)
// allocates nothing and goes on: with memory back it exchanges messages.
TEST(DtlsAssociationOutOfMemory, OnlyWhatNeedsOpensslFails) {
  ASSERT_TRUE(testing::openssl_allocations_hooked());
  DtlsPair touched(webrtc_config("SRTP_AEAD_AES_128_GCM"));
  PairConfig with_idle_timeout = webrtc_config("SRTP_AEAD_AES_128_GCM");
  with_idle_timeout.client.idle_timeout = std::chrono::seconds(5);
  with_idle_timeout.server.idle_timeout = std::chrono::seconds(5);
  DtlsPair idle(with_idle_timeout);
  for (DtlsPair* p : {&touched, &idle}) {
    ASSERT_TRUE(p->start());
    p->run_handshake();
    ASSERT_TRUE(p->both_open());
  }
  const std::vector<std::uint8_t> hello = {'h', 'i'};
  // The idle pair's deadlines as they stand, then moved on by a message
  // each way: at the old ones, the timers come up with nothing to do.
  const TimePoint client_deadline = idle.client()->next_deadline().value();
  const TimePoint server_deadline = idle.server()->next_deadline().value();
  idle.run_for(std::chrono::seconds(2));
  ASSERT_TRUE(idle.client()->send(hello).ok());
  ASSERT_TRUE(idle.server()->send(hello).ok());
  idle.run_for(std::chrono::seconds(1));
  ASSERT_GT(idle.client()->next_deadline().value(), client_deadline);
  ASSERT_GT(idle.server()->next_deadline().value(), server_deadline);
  ASSERT_TRUE(touched.client()->send(hello).ok());  // with memory
  testing::fail_openssl_allocations_after(0);
  touched.run_for(std::chrono::seconds(1));  // read without
  idle.client()->handle_timeout(client_deadline);
  idle.server()->handle_timeout(server_deadline);
  testing::allow_openssl_allocations();
  EXPECT_GT(testing::openssl_allocation_failures(), 0);
  ASSERT_TRUE(touched.server_error());
  EXPECT_EQ(touched.server_error()->code, "ERR_OUT_OF_MEMORY");
  EXPECT_EQ(touched.server()->state(), DtlsAssociation::State::kFailed);
  // The other association is as it was.
  ASSERT_TRUE(idle.both_open());
  ASSERT_TRUE(idle.client()->send(hello).ok());
  ASSERT_TRUE(idle.server()->send(hello).ok());
  idle.run_for(std::chrono::seconds(1));
  const std::vector<std::uint8_t> twice = {'h', 'i', 'h', 'i'};
  EXPECT_EQ(idle.received_by_server(), twice);
  EXPECT_EQ(idle.received_by_client(), twice);
  EXPECT_FALSE(idle.client_error());
  EXPECT_FALSE(idle.server_error());
}

}  // namespace
}  // namespace dtls
