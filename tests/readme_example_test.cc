// Runs the README's example (tests/readme_example.h) and checks that the
// README shows exactly that code, so the example cannot rot.
#include "tests/readme_example.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

#include "certs/fingerprint.h"
#include "certs/generate.h"
#include "tests/testing/rtp_packets.h"

namespace {

struct Identity {
  std::string cert, key, fingerprint;
};

Identity identity() {
  auto c = std::move(dtls::certs::generate_certificate()).value();
  return {c.leaf().to_pem(), c.key.to_pem(),
          dtls::certs::Fingerprint::of(c.leaf(),
                                       dtls::certs::HashAlgorithm::kSha256)
              .to_sdp()};
}

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Three participants in the room, each sending 100 packets from this
// thread: each receives the other two's 200, none of its own.
TEST(ReadmeExample, TheRoomForwardsEveryPacketToTheOthers) {
  constexpr int kPackets = 100;
  const Identity sfu = identity(), peer = identity();
  auto loop = std::move(dtls::EventLoop::start()).value();
  example::Room room;  // touched on the loop only
  auto endpoint =
      example::open_room(*loop, room, sfu.cert, sfu.key, {peer.fingerprint});
  ASSERT_TRUE(endpoint.ok()) << endpoint.error().to_string();
  std::atomic<int> received[3] = {0, 0, 0};
  std::atomic<int> own[3] = {0, 0, 0};
  std::vector<dtls::Session> people;
  for (int i = 0; i < 3; ++i) {
    auto s =
        example::join(*loop, endpoint->address().port, peer.cert, peer.key,
                      sfu.fingerprint, [&, i](std::span<const std::uint8_t> p) {
                        // The SSRC says who sent it.
                        (p[11] == i ? own[i] : received[i])++;
                      });
    ASSERT_TRUE(s.ok()) << s.error().to_string();
    ASSERT_EQ(s->opened().wait_for(std::chrono::seconds(10)),
              std::future_status::ready);
    ASSERT_TRUE(s->opened().get().ok());
    people.push_back(*s);
  }
  auto members = [&] {
    return loop->dispatcher()->call([&] { return room.members.size(); });
  };
  for (int i = 0; i < 1000 && members() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(members(), 3u);
  // Ten packets each at a time: a burst of hundreds of datagrams can
  // overflow a socket's default receive buffer while its loop is busy (the
  // kernel charges each small datagram ~1-2 KiB), which is not what this
  // test is about.
  auto all_have = [&](int n) {
    for (int t = 0; t < 2000; ++t) {
      if (received[0] >= n && received[1] >= n && received[2] >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return false;
  };
  for (int n = 0; n < kPackets; ++n) {
    for (int i = 0; i < 3; ++i) {
      auto p = dtls::testing::make_rtp(static_cast<std::uint32_t>(i),
                                       static_cast<std::uint16_t>(n), 100);
      ASSERT_TRUE(people[static_cast<size_t>(i)].send_rtp(p).ok());
    }
    if (n % 10 == 9) {
      ASSERT_TRUE(all_have(2 * (n + 1)));
    }
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(received[i].load(), 2 * kPackets) << "participant " << i;
    EXPECT_EQ(own[i].load(), 0) << "participant " << i;
  }
  people[0].close();
  for (int i = 0; i < 1000 && members() > 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(members(), 2u);  // on_closed took it out
  loop->stop();
}

TEST(ReadmeExample, TheReadmeShowsThisCode) {
  const std::string source = read("tests/readme_example.h");
  const std::string readme = read("README.md");
  ASSERT_FALSE(source.empty());
  ASSERT_FALSE(readme.empty());
  const std::string begin = "// README:begin\n", end = "// README:end";
  const size_t from = source.find(begin);
  const size_t to = source.find(end);
  ASSERT_NE(from, std::string::npos);
  ASSERT_NE(to, std::string::npos);
  const std::string example =
      source.substr(from + begin.size(), to - from - begin.size());
  EXPECT_NE(readme.find("```cpp\n#include \"transport/dtls_api.h\"\n\n" +
                        example + "```"),
            std::string::npos)
      << "README.md's \"Using it\" block differs from tests/readme_example.h "
         "(between the README markers); copy it over";
}

}  // namespace
