#include "transport/base/deadline_queue.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace dtls {
namespace {

using std::chrono::milliseconds;
const TimePoint t0{};

TEST(DeadlineQueue, EarliestFirst) {
  DeadlineQueue q;
  EXPECT_FALSE(q.next());
  q.set(1, t0 + milliseconds(30));
  q.set(2, t0 + milliseconds(10));
  q.set(3, t0 + milliseconds(20));
  EXPECT_EQ(q.next(), t0 + milliseconds(10));
  EXPECT_FALSE(q.pop_due(t0 + milliseconds(9)));
  EXPECT_EQ(q.pop_due(t0 + milliseconds(25)), 2u);
  EXPECT_EQ(q.pop_due(t0 + milliseconds(25)), 3u);
  EXPECT_FALSE(q.pop_due(t0 + milliseconds(25)));
  EXPECT_EQ(q.size(), 1u);
}

TEST(DeadlineQueue, MoveAndErase) {
  DeadlineQueue q;
  q.set(1, t0 + milliseconds(10));
  q.set(2, t0 + milliseconds(20));
  q.set(1, t0 + milliseconds(30));  // later
  EXPECT_EQ(q.next(), t0 + milliseconds(20));
  q.set(1, t0 + milliseconds(5));  // earlier
  EXPECT_EQ(q.next(), t0 + milliseconds(5));
  EXPECT_EQ(q.deadline_of(1), t0 + milliseconds(5));
  q.erase(1);
  EXPECT_FALSE(q.deadline_of(1));
  EXPECT_EQ(q.next(), t0 + milliseconds(20));
  q.set(2, std::nullopt);
  EXPECT_TRUE(q.empty());
  q.erase(42);  // unknown ids are fine
}

// Against a reference model, 20,000 seeded random operations.
TEST(DeadlineQueue, MatchesAReferenceModel) {
  const std::uint64_t seed = 20261123;
  std::mt19937_64 rng(seed);
  DeadlineQueue q;
  std::map<DeadlineQueue::Id, TimePoint> model;
  TimePoint now = t0;
  for (int step = 0; step < 20000; ++step) {
    DeadlineQueue::Id id = rng() % 200;
    switch (rng() % 4) {
      case 0:
      case 1: {
        TimePoint at = now + milliseconds(rng() % 1000);
        q.set(id, at);
        model[id] = at;
        break;
      }
      case 2:
        q.erase(id);
        model.erase(id);
        break;
      case 3: {
        now += milliseconds(rng() % 50);
        while (auto due = q.pop_due(now)) {
          auto it = model.find(*due);
          ASSERT_NE(it, model.end()) << "seed " << seed << " step " << step;
          ASSERT_LE(it->second, now);
          // Nothing left in the model is earlier than what was popped.
          for (const auto& [k, v] : model)
            ASSERT_GE(v, it->second) << "seed " << seed;
          model.erase(it);
        }
        for (const auto& [k, v] : model) ASSERT_GT(v, now) << "seed " << seed;
        break;
      }
    }
    ASSERT_EQ(q.size(), model.size()) << "seed " << seed << " step " << step;
    if (!model.empty()) {
      TimePoint earliest = model.begin()->second;
      for (const auto& [k, v] : model) earliest = std::min(earliest, v);
      ASSERT_EQ(q.next(), earliest) << "seed " << seed << " step " << step;
    }
  }
}

}  // namespace
}  // namespace dtls
