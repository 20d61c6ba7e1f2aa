#include "transport/io/event_loop.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <atomic>
#include <string>
#include <thread>

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

}  // namespace
}  // namespace dtls
