#include "transport/eventual.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

namespace dtls::detail {
namespace {

TEST(Eventual, CallbacksRunAtSettleOrAtOnceAfter) {
  Eventual<int> e;
  std::vector<int> seen;
  e.then([&](const int& v) { seen.push_back(v); });
  EXPECT_TRUE(seen.empty());
  EXPECT_FALSE(e.value());
  e.settle(7);
  EXPECT_EQ(seen, std::vector<int>{7});
  e.then([&](const int& v) { seen.push_back(v + 1); });
  EXPECT_EQ(seen, (std::vector<int>{7, 8}));
  ASSERT_TRUE(e.value());
  EXPECT_EQ(*e.value(), 7);
}

TEST(Eventual, OnlyTheFirstSettleCounts) {
  Eventual<std::string> e;
  int calls = 0;
  e.then([&](const std::string&) { ++calls; });
  e.settle("first");
  e.settle("second");
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(*e.value(), "first");
  EXPECT_EQ(e.future().get(), "first");
}

TEST(Eventual, FutureAskedBeforeOrAfterTheValue) {
  Eventual<int> before;
  auto f = before.future();
  EXPECT_EQ(f.wait_for(std::chrono::seconds(0)), std::future_status::timeout);
  before.settle(1);
  EXPECT_EQ(f.get(), 1);
  Eventual<int> after;
  after.settle(2);
  EXPECT_EQ(after.future().get(), 2);
  EXPECT_EQ(after.future().get(), 2);  // the same shared state again
}

TEST(Eventual, AnotherThreadWaits) {
  Eventual<int> e;
  int got = 0;
  std::thread waiter([&] { got = e.future().get(); });
  // The waiter may ask before or after the value: both must resolve.
  e.settle(42);
  waiter.join();
  EXPECT_EQ(got, 42);
}

TEST(Eventual, DroppedCallbacksNeverRun) {
  Eventual<int> e;
  bool ran = false;
  e.then([&](const int&) { ran = true; });
  e.drop_callbacks();
  e.settle(1);
  EXPECT_FALSE(ran);
}

// A callback may destroy the Eventual's owner (the last handle to a session
// dropped in on_closed).
TEST(Eventual, ACallbackMayDestroyItsOwner) {
  auto owner = std::make_unique<Eventual<std::string>>();
  std::string seen;
  owner->then([&](const std::string&) { owner.reset(); });
  owner->then([&](const std::string& v) { seen = v; });
  owner->settle("done");
  EXPECT_FALSE(owner);
  EXPECT_EQ(seen, "done");
}

}  // namespace
}  // namespace dtls::detail
