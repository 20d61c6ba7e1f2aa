#include "tests/testing/uv_test_loop.h"

#include <gtest/gtest.h>

namespace dtls::testing {

UvTestLoop::UvTestLoop() { uv_loop_init(&loop_); }

UvTestLoop::~UvTestLoop() {
  uv_run(&loop_, UV_RUN_DEFAULT);  // let every close callback run
  EXPECT_EQ(uv_loop_close(&loop_), 0) << "a libuv handle was left open";
}

bool UvTestLoop::run_until(const std::function<bool()>& done,
                           std::chrono::milliseconds limit) {
  if (done()) return true;
  struct Check {
    uv_timer_t timer;
    const std::function<bool()>* done;
    std::chrono::steady_clock::time_point deadline;
    bool met = false;
  } check{{}, &done, std::chrono::steady_clock::now() + limit};
  uv_timer_init(&loop_, &check.timer);
  check.timer.data = &check;
  uv_timer_start(
      &check.timer,
      [](uv_timer_t* t) {
        auto* c = static_cast<Check*>(t->data);
        c->met = (*c->done)();
        if (c->met || std::chrono::steady_clock::now() > c->deadline)
          uv_stop(t->loop);
      },
      1, 1);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_close(reinterpret_cast<uv_handle_t*>(&check.timer), nullptr);
  uv_run(&loop_, UV_RUN_NOWAIT);
  return check.met;
}

}  // namespace dtls::testing
