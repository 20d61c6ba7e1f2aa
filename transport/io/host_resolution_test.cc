#include "transport/io/host_resolution.h"

#include <gtest/gtest.h>

#include <optional>

#include "tests/testing/uv_test_loop.h"

namespace dtls {
namespace {

TEST(HostResolution, BindAddressesAreLiterals) {
  EXPECT_EQ(bind_address("0.0.0.0", 5004)->to_string(), "0.0.0.0:5004");
  EXPECT_EQ(bind_address("::", 0)->to_string(), "[::]:0");
  EXPECT_EQ(bind_address("localhost", 1)->to_string(), "127.0.0.1:1");
  EXPECT_EQ(bind_address("localhost", 1, /*prefer_v6=*/true)->to_string(),
            "[::1]:1");
  auto name = bind_address("example.com", 1);
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.error().code, "ERR_INVALID_ARG_VALUE");
  EXPECT_NE(name.error().message.find("example.com"), std::string::npos);
}

// A getaddrinfo answer made by hand (ports are replaced by the caller's).
struct Answer {
  sockaddr_in v4{};
  sockaddr_in6 v6{};
  addrinfo first{}, second{};
};

void fill(Answer& a, int first_family, int second_family) {
  a.v4.sin_family = AF_INET;
  a.v4.sin_addr.s_addr = htonl(0xC0000201);  // 192.0.2.1
  a.v4.sin_port = htons(9);
  a.v6.sin6_family = AF_INET6;
  a.v6.sin6_addr.s6_addr[15] = 1;  // ::1
  auto set = [&](addrinfo& ai, int family) {
    ai.ai_family = family;
    ai.ai_addr = family == AF_INET ? reinterpret_cast<sockaddr*>(&a.v4)
                                   : reinterpret_cast<sockaddr*>(&a.v6);
  };
  set(a.first, first_family);
  set(a.second, second_family);
  a.first.ai_next = &a.second;
}

TEST(HostResolution, PickAddressPrefersIpv4) {
  Answer a;
  fill(a, AF_INET6, AF_INET);
  EXPECT_EQ(pick_address(&a.first, 5004)->to_string(), "192.0.2.1:5004");
  fill(a, AF_INET6, AF_INET6);
  EXPECT_EQ(pick_address(&a.first, 5004)->to_string(), "[::1]:5004");
  fill(a, AF_UNIX, AF_UNIX);
  EXPECT_FALSE(pick_address(&a.first, 5004).has_value());
  EXPECT_FALSE(pick_address(nullptr, 5004).has_value());
}

TEST(HostResolution, ResolvesOnTheLoop) {
  testing::UvTestLoop loop;
  std::optional<Result<PeerAddress>> got;
  ASSERT_TRUE(
      resolve_host(loop.get(), "localhost", 5004, [&](Result<PeerAddress> r) {
        got = std::move(r);
      }).ok());
  EXPECT_FALSE(got.has_value());  // never before the loop runs
  ASSERT_TRUE(loop.run_until([&] { return got.has_value(); }));
  ASSERT_TRUE(got->ok()) << got->error().to_string();
  EXPECT_EQ((*got)->port(), 5004);
  EXPECT_TRUE((*got)->ip() == "127.0.0.1" || (*got)->ip() == "::1")
      << (*got)->ip();
}

TEST(HostResolution, UnknownNameIsHostNotFound) {
  testing::UvTestLoop loop;
  std::optional<Result<PeerAddress>> got;
  ASSERT_TRUE(resolve_host(loop.get(), "no-such-host.invalid", 5004,
                           [&](Result<PeerAddress> r) { got = std::move(r); })
                  .ok());
  ASSERT_TRUE(loop.run_until([&] { return got.has_value(); }));
  ASSERT_FALSE(got->ok());
  EXPECT_EQ(got->error().code, "ERR_DTLS_HOST_NOT_FOUND");
  EXPECT_NE(got->error().message.find("no-such-host.invalid"),
            std::string::npos);
}

}  // namespace
}  // namespace dtls
