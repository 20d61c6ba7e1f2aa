#include "transport/io/event_loop.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

namespace dtls {
namespace {

TEST(EventLoop, CallRunsOnTheLoopThreadAndReturnsTheResult) {
  auto loop = EventLoop::start();
  ASSERT_TRUE(loop.ok()) << loop.error().to_string();
  auto d = (*loop)->dispatcher();
  EXPECT_FALSE(d->on_loop_thread());
  std::thread::id loop_thread;
  int r = d->call([&] {
    loop_thread = std::this_thread::get_id();
    EXPECT_TRUE(d->on_loop_thread());
    // A call from the loop thread runs inline (no deadlock waiting on itself).
    return d->call([] { return 41; }) + 1;
  });
  EXPECT_EQ(r, 42);
  EXPECT_NE(loop_thread, std::this_thread::get_id());
}

TEST(EventLoop, ThreadNameIsSetAndCutToFifteenBytes) {
  auto named = std::move(EventLoop::start("sfu-worker-number-1")).value();
  std::string name = named->dispatcher()->call([] {
    char buf[32] = {};
    pthread_getname_np(pthread_self(), buf, sizeof(buf));
    return std::string(buf);
  });
  EXPECT_EQ(name, "sfu-worker-numb");
}

TEST(EventLoop, PostsFromManyThreadsAllRunInOrderPerThread) {
  auto loop = std::move(EventLoop::start()).value();
  auto d = loop->dispatcher();
  constexpr int kThreads = 4;
  constexpr int kPosts = 500;
  std::vector<std::vector<int>> seen(kThreads);  // touched on the loop only
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPosts; ++i) {
        d->post([&, t, i] { seen[static_cast<size_t>(t)].push_back(i); });
      }
    });
  }
  for (auto& t : threads) t.join();
  // A call queued after every post runs after them.
  size_t total = d->call([&] {
    size_t n = 0;
    for (auto& v : seen) n += v.size();
    return n;
  });
  EXPECT_EQ(total, static_cast<size_t>(kThreads * kPosts));
  for (auto& v : seen) {
    for (int i = 0; i < kPosts; ++i) {
      ASSERT_EQ(v[static_cast<size_t>(i)], i);
    }
  }
}

TEST(EventLoop, StopRunsHooksAndLaterCallsRunAtTheCaller) {
  auto loop = std::move(EventLoop::start()).value();
  auto d = loop->dispatcher();
  std::atomic<bool> hook_ran{false};
  bool timer_closed = false;
  uv_timer_t timer;
  d->call([&] {
    // A handle that keeps the loop alive until the stop hook closes it, as an
    // endpoint's socket does.
    uv_timer_init(loop->uv(), &timer);
    timer.data = &timer_closed;
    uv_timer_start(
        &timer, [](uv_timer_t*) {}, 100000, 100000);
    d->at_stop([&] {
      hook_ran = true;
      uv_close(reinterpret_cast<uv_handle_t*>(&timer),
               [](uv_handle_t* h) { *static_cast<bool*>(h->data) = true; });
    });
  });
  loop->stop();
  EXPECT_TRUE(hook_ran);
  EXPECT_TRUE(timer_closed);
  // The dispatcher outlives the loop: calls now run here.
  EXPECT_EQ(d->call([] { return 7; }), 7);
  bool ran = false;
  d->post([&] { ran = true; });
  EXPECT_TRUE(ran);
  loop.reset();  // a second stop (the destructor) is harmless
}

// A hook whose owner ended first is cancelled: it never runs, and the loop
// keeps nothing of it.
TEST(EventLoop, CancelledStopHooksDoNotRunAndAreNotKept) {
  auto loop = std::move(EventLoop::start()).value();
  auto d = loop->dispatcher();
  std::vector<int> ran;
  d->call([&] {
    const auto first = d->at_stop([&] { ran.push_back(1); });
    d->at_stop([&] { ran.push_back(2); });
    const auto third = d->at_stop([&] { ran.push_back(3); });
    EXPECT_EQ(d->stop_hook_count(), 3u);
    d->cancel_stop(first);
    d->cancel_stop(third);
    d->cancel_stop(third);  // twice is harmless
    EXPECT_EQ(d->stop_hook_count(), 1u);
  });
  loop->stop();
  EXPECT_EQ(ran, std::vector<int>{2});
}

// A loop waiting in a call() to another loop answers the calls made to it
// meanwhile: a call from A to B whose function calls back into A, and A and
// B calling each other at the same time, finish instead of waiting forever.
TEST(EventLoop, LoopsCallingEachOtherDoNotWaitOnEachOther) {
  auto a = std::move(EventLoop::start("a")).value();
  auto b = std::move(EventLoop::start("b")).value();
  auto da = a->dispatcher();
  auto db = b->dispatcher();
  EXPECT_EQ(LoopDispatcher::current(), nullptr);
  EXPECT_EQ(da->call([] { return LoopDispatcher::current(); }), da.get());
  // A -> B -> A.
  const int nested = da->call([&] {
    return db->call([&] { return da->call([] { return 40; }) + 1; }) + 1;
  });
  EXPECT_EQ(nested, 42);
  // A and B each call the other, many times, at once.
  constexpr int kCalls = 2000;
  std::atomic<int> done{0};
  auto ping = [&](const std::shared_ptr<LoopDispatcher>& self,
                  const std::shared_ptr<LoopDispatcher>& other) {
    self->post([&, self, other] {
      int sum = 0;
      for (int i = 0; i < kCalls; ++i) {
        sum += other->call([&] { return other->on_loop_thread() ? 1 : 0; });
      }
      EXPECT_EQ(sum, kCalls);
      done++;
    });
  };
  ping(da, db);
  ping(db, da);
  for (int i = 0; i < 2000 && done < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(done.load(), 2);
  a->stop();
  b->stop();
}

// stop() while another thread keeps posting: every task runs exactly once,
// on the loop before the stop or at the caller after it (a drain nested in
// the stopping drain once ran the outer batch a second time).
TEST(EventLoop, StoppingWhileOthersPostRunsEachTaskOnce) {
  for (int round = 0; round < 20; ++round) {
    auto loop = std::move(EventLoop::start()).value();
    auto d = loop->dispatcher();
    std::atomic<int> ran{0};
    std::atomic<bool> go{true};
    int posted = 0;
    std::thread producer([&] {
      while (go) {
        d->post([&] { ran++; });
        ++posted;
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    loop->stop();
    go = false;
    producer.join();
    EXPECT_EQ(ran.load(), posted) << "round " << round;
  }
}

// Records what the loop hands it, checking it runs on the loop.
class Recorder : public QueuedMediaTarget {
 public:
  explicit Recorder(LoopDispatcher& d) : d_(d) {}
  void begin_queued() override {
    EXPECT_TRUE(d_.on_loop_thread());
    log.push_back("begin");
  }
  void send_queued(std::uint8_t tag, std::span<std::uint8_t> packet) override {
    EXPECT_TRUE(d_.on_loop_thread());
    log.push_back(std::to_string(tag) + ":" +
                  std::string(packet.begin(), packet.end()));
  }
  void end_queued() override { log.push_back("end"); }
  std::vector<std::string> log;  // loop thread only

 private:
  LoopDispatcher& d_;
};

std::span<const std::uint8_t> bytes(const char* s) {
  return {reinterpret_cast<const std::uint8_t*>(s), std::strlen(s)};
}

// Packets queued from another thread reach their target in order with the
// functions posted around them, each target's between one begin and one end
// per wakeup; the queue is bounded and refuses what does not fit a slot.
TEST(EventLoop, MediaQueuedFromAnotherThreadKeepsOrderAndBatchesPerTarget) {
  auto loop = std::move(EventLoop::start()).value();
  auto d = loop->dispatcher();
  auto a = std::make_shared<Recorder>(*d);
  auto b = std::make_shared<Recorder>(*d);
  std::vector<std::string> order;  // loop thread only
  // Hold the loop (once it has taken the holding function) so that
  // everything below is queued before it looks again.
  std::promise<void> release, entered;
  std::shared_future<void> released = release.get_future().share();
  d->post([released, &entered] {
    entered.set_value();
    released.wait();
  });
  entered.get_future().wait();
  EXPECT_EQ(d->post_media(a, 1, bytes("a1")), LoopDispatcher::Queued::kQueued);
  d->post([&] { order.push_back("fn"); });
  EXPECT_EQ(d->post_media(b, 2, bytes("b1")), LoopDispatcher::Queued::kQueued);
  EXPECT_EQ(d->post_media(a, 1, bytes("a2")), LoopDispatcher::Queued::kQueued);
  EXPECT_EQ(d->queued_media(), 3u);
  const std::vector<std::uint8_t> big(LoopDispatcher::kMediaSlotBytes + 1);
  EXPECT_EQ(d->post_media(a, 1, big), LoopDispatcher::Queued::kTooLarge);
  release.set_value();
  // The slots of a batch are given back when the batch ends: a call queued
  // behind the packets may run in the same batch, the next one after it.
  d->call([] {});
  d->call([] {});
  EXPECT_EQ(d->queued_media(), 0u);
  d->call([&] {
    EXPECT_EQ(a->log,
              (std::vector<std::string>{"begin", "1:a1", "1:a2", "end"}));
    EXPECT_EQ(b->log, (std::vector<std::string>{"begin", "2:b1", "end"}));
    EXPECT_EQ(order, (std::vector<std::string>{"fn"}));
  });
  loop->stop();
  EXPECT_EQ(d->post_media(a, 1, bytes("late")),
            LoopDispatcher::Queued::kStopped);
}

TEST(EventLoop, MediaQueueIsBounded) {
  auto loop = std::move(EventLoop::start()).value();
  auto d = loop->dispatcher();
  auto a = std::make_shared<Recorder>(*d);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  d->post([released] { released.wait(); });
  size_t queued = 0;
  while (d->post_media(a, 0, bytes("x")) == LoopDispatcher::Queued::kQueued)
    ++queued;
  EXPECT_EQ(queued, LoopDispatcher::kMediaQueueCapacity);
  // Hand-overs have a share of their own: a full queue of the loop's own
  // packets leaves it, and a full share of them leaves the loop's own.
  const auto handed = LoopDispatcher::Share::kHandOver;
  size_t extra = 0;
  while (d->post_media(a, 0, {}, bytes("x"), handed) ==
         LoopDispatcher::Queued::kQueued) {
    ++extra;
  }
  EXPECT_EQ(extra, LoopDispatcher::kHandOverCapacity);
  queued += extra;
  EXPECT_EQ(d->post_media(a, 0, bytes("x")), LoopDispatcher::Queued::kFull);
  release.set_value();
  d->call([] {});
  // Drained: room again, in the slots made before.
  EXPECT_EQ(d->post_media(a, 0, bytes("y")), LoopDispatcher::Queued::kQueued);
  const size_t seen = d->call([&] {
    return static_cast<size_t>(std::count_if(
        a->log.begin(), a->log.end(),
        [](const std::string& e) { return e != "begin" && e != "end"; }));
  });
  EXPECT_EQ(seen, queued + 1);
  loop->stop();
}

// Producers on several threads: every packet arrives once, each thread's in
// order (TSan runs this).
TEST(EventLoop, MediaFromManyThreadsArrivesOnceInOrderPerThread) {
  auto loop = std::move(EventLoop::start()).value();
  auto d = loop->dispatcher();
  auto r = std::make_shared<Recorder>(*d);
  constexpr int kThreads = 4;
  constexpr int kPackets = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPackets;) {
        const std::string p = std::to_string(i);
        auto q =
            d->post_media(r, static_cast<std::uint8_t>(t), bytes(p.c_str()));
        if (q == LoopDispatcher::Queued::kQueued) {
          ++i;
        } else {
          ASSERT_EQ(q, LoopDispatcher::Queued::kFull);
          std::this_thread::yield();
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  d->call([&] {
    std::vector<int> next(kThreads, 0);
    for (const std::string& e : r->log) {
      if (e == "begin" || e == "end") continue;
      const auto colon = e.find(':');
      const int t = std::stoi(e.substr(0, colon));
      EXPECT_EQ(std::stoi(e.substr(colon + 1)), next[static_cast<size_t>(t)]++);
    }
    for (int n : next) EXPECT_EQ(n, kPackets);
  });
  loop->stop();
}

}  // namespace
}  // namespace dtls
