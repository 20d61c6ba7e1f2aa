#include "tests/testing/fake_wall_clock.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <sys/time.h>

namespace dtls::testing {
namespace {

TEST(FakeWallClock, ShimIsLinkedIn) { EXPECT_TRUE(wall_clock_is_simulated()); }

TEST(FakeWallClock, FollowsTheSimulatedClock) {
  set_wall_clock(TimePoint{} + std::chrono::seconds(10));
  timeval a{};
  gettimeofday(&a, nullptr);
  set_wall_clock(TimePoint{} + std::chrono::seconds(10) +
                 std::chrono::microseconds(2500));
  timeval b{};
  gettimeofday(&b, nullptr);
  use_real_wall_clock();
  EXPECT_EQ((b.tv_sec - a.tv_sec) * 1000000 + (b.tv_usec - a.tv_usec), 2500);
}

TEST(FakeWallClock, RealClockWhenUnset) {
  use_real_wall_clock();
  timeval tv{};
  gettimeofday(&tv, nullptr);
  EXPECT_GT(tv.tv_sec, 1700000000);  // after 2023: a real clock
}

// The point of the shim: OpenSSL's DTLS timer follows it. A client SSL arms its
// timer when it sends the ClientHello; DTLSv1_get_timeout then reports
// simulated time left.
TEST(FakeWallClock, DrivesOpenSslDtlsTimer) {
  set_wall_clock(TimePoint{});
  SSL_CTX* ctx = SSL_CTX_new(DTLS_client_method());
  SSL* ssl = SSL_new(ctx);
  BIO* mem = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl, mem, mem);
  SSL_set_connect_state(ssl);
  SSL_do_handshake(ssl);
  timeval left{};
  ASSERT_EQ(DTLSv1_get_timeout(ssl, &left), 1);
  EXPECT_EQ(left.tv_sec,
            1);  // OpenSSL's default initial timeout, no real time passed
  EXPECT_EQ(left.tv_usec, 0);
  set_wall_clock(TimePoint{} + std::chrono::milliseconds(400));
  ASSERT_EQ(DTLSv1_get_timeout(ssl, &left), 1);
  EXPECT_EQ(left.tv_sec * 1000000 + left.tv_usec, 600000);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  use_real_wall_clock();
}

}  // namespace
}  // namespace dtls::testing
