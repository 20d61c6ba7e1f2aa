#include "transport/io/port_group.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "tests/testing/ice_check.h"
#include "transport/ice/stun_message.h"

namespace dtls {
namespace {

std::shared_ptr<PortGroup> make_group() {
  auto g = PortGroup::create();
  EXPECT_TRUE(g.ok());
  return std::move(g).value();
}

stun::Message check(const std::string& user, const std::string& pwd) {
  static std::vector<std::uint8_t> bytes;
  bytes = testing::ice_check(user, pwd, true);
  return *stun::Message::parse(bytes);
}

TEST(PortGroup, SecretsAreRandomOrGiven) {
  auto a = make_group(), b = make_group();
  EXPECT_NE(a->cookie_secret(), b->cookie_secret());
  std::vector<std::uint8_t> secret(32, 7);
  auto c = PortGroup::create(secret);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->cookie_secret()[31], 7);
  secret.pop_back();
  EXPECT_EQ(PortGroup::create(secret).error().code, "ERR_INVALID_ARG_VALUE");
}

TEST(PortGroup, OwnersAreNamedOnlyForAuthenticChecks) {
  auto g = make_group();
  const auto m0 = g->reserve(), m1 = g->reserve();
  EXPECT_NE(m0, m1);
  const std::string pwd = "0123456789abcdefghijklmn";
  EXPECT_TRUE(g->claim("srvr", pwd, m1));
  EXPECT_FALSE(g->claim("srvr", pwd, m0));  // one session per ufrag
  EXPECT_EQ(g->owner(check("srvr:brws", pwd)), m1);
  EXPECT_FALSE(g->owner(check("srvr:brws", "wrongwrongwrongwrongwron")));
  EXPECT_FALSE(g->owner(check("none:brws", pwd)));
  g->release("srvr", m0);  // not m0's to give back
  EXPECT_EQ(g->sessions(), 1u);
  g->release("srvr", m1);
  EXPECT_EQ(g->sessions(), 0u);
  EXPECT_FALSE(g->owner(check("srvr:brws", pwd)));
  // A member that leaves frees its ufrags.
  EXPECT_TRUE(g->claim("a1", pwd, m0));
  EXPECT_TRUE(g->claim("a2", pwd, m0));
  EXPECT_TRUE(g->claim("b1", pwd, m1));
  g->leave(m0);
  EXPECT_EQ(g->sessions(), 1u);
  EXPECT_TRUE(g->claim("a1", pwd, m1));
}

// Records what is handed over, on its loop.
class Inbox : public QueuedMediaTarget {
 public:
  explicit Inbox(LoopDispatcher& d) : d_(d) {}
  void send_queued(std::uint8_t tag, std::span<std::uint8_t> packet) override {
    EXPECT_TRUE(d_.on_loop_thread());
    EXPECT_EQ(tag, PortGroup::kHandedOver);
    PeerAddress from;
    std::memcpy(static_cast<void*>(&from), packet.data(), sizeof(from));
    std::lock_guard lock(mu);
    got.emplace_back(from.to_string(),
                     std::string(packet.begin() + sizeof(from), packet.end()));
  }
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> got;

 private:
  LoopDispatcher& d_;
};

TEST(PortGroup, HandsDatagramsToAMembersLoop) {
  auto loop = std::move(EventLoop::start()).value();
  auto g = make_group();
  const auto m = g->reserve();
  const PeerAddress from = PeerAddress::parse("10.0.0.9", 5000).value();
  const std::string text = "datagram";
  std::span<const std::uint8_t> data(
      reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
  EXPECT_EQ(g->hand_over(m, from, data), -ESHUTDOWN);  // not joined yet
  auto inbox = std::make_shared<Inbox>(*loop->dispatcher());
  const auto before = g->generation();
  EXPECT_FALSE(g->route(m));
  g->join(m, loop->dispatcher(), inbox);
  EXPECT_EQ(g->members(), 1u);
  // Senders keep routes until the generation moves.
  const auto joined = g->generation();
  EXPECT_NE(joined, before);
  auto route = g->route(m);
  ASSERT_TRUE(route);
  EXPECT_EQ(route->inbox, inbox);
  EXPECT_EQ(g->hand_over(m, from, data), 0);
  std::vector<std::uint8_t> big(PortGroup::kMaxHandedOver + 1);
  EXPECT_EQ(g->hand_over(m, from, big), -EMSGSIZE);
  big.pop_back();
  EXPECT_EQ(g->hand_over(m, from, big), 0);
  // After both, a posted call runs: the queue keeps its order.
  std::promise<void> done;
  loop->dispatcher()->post([&] { done.set_value(); });
  done.get_future().wait();
  {
    std::lock_guard lock(inbox->mu);
    ASSERT_EQ(inbox->got.size(), 2u);
    EXPECT_EQ(inbox->got[0].first, "10.0.0.9:5000");
    EXPECT_EQ(inbox->got[0].second, text);
    EXPECT_EQ(inbox->got[1].second.size(), PortGroup::kMaxHandedOver);
  }
  g->leave(m);
  EXPECT_NE(g->generation(), joined);
  EXPECT_EQ(g->hand_over(m, from, data), -ESHUTDOWN);
  // A kept route still reaches the loop (the inbox then drops what it gets,
  // as an endpoint's does once it has closed).
  EXPECT_EQ(PortGroup::hand_over(*route, from, data), 0);
  // A member whose inbox has gone is gone too.
  g->join(m, loop->dispatcher(), std::weak_ptr<Inbox>());
  EXPECT_EQ(g->hand_over(m, from, data), -ESHUTDOWN);
  loop->stop();
}

// A flood of hand-overs (spoofed sources of handed-over addresses) fills
// only their own share of the owner's queue: the loop's own senders keep
// theirs, and the other way round.
TEST(PortGroup, HandOversAndTheOwnersQueueKeepTheirShares) {
  auto loop = std::move(EventLoop::start()).value();
  auto g = make_group();
  const auto m = g->reserve();
  auto inbox = std::make_shared<Inbox>(*loop->dispatcher());
  g->join(m, loop->dispatcher(), inbox);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  loop->dispatcher()->post([released] { released.wait(); });
  const PeerAddress from = PeerAddress::parse("10.0.0.9", 5000).value();
  const auto* head = reinterpret_cast<const std::uint8_t*>(&from);
  const std::uint8_t byte = 0x80;
  auto own = [&] {
    return loop->dispatcher()->post_media(inbox, PortGroup::kHandedOver,
                                          {head, sizeof(from)}, {&byte, 1});
  };
  size_t own_queued = 0;
  while (own() == LoopDispatcher::Queued::kQueued) ++own_queued;
  EXPECT_EQ(own_queued, LoopDispatcher::kMediaQueueCapacity);
  size_t handed = 0;
  while (g->hand_over(m, from, {&byte, 1}) == 0) ++handed;
  EXPECT_EQ(handed, LoopDispatcher::kHandOverCapacity);
  EXPECT_EQ(g->hand_over(m, from, {&byte, 1}), -ENOBUFS);
  release.set_value();
  loop->stop();
}

}  // namespace
}  // namespace dtls
