#include "transport/io/uv_run_until.h"

namespace dtls {

bool uv_run_until(uv_loop_t* loop, const std::function<bool()>& done,
                  std::chrono::milliseconds limit,
                  std::chrono::milliseconds period) {
  if (done()) return true;
  struct Check {
    uv_timer_t timer;
    const std::function<bool()>* done;
    std::chrono::steady_clock::time_point deadline;
    bool met = false;
  } check{{}, &done, std::chrono::steady_clock::now() + limit};
  uv_timer_init(loop, &check.timer);
  check.timer.data = &check;
  const auto every = static_cast<std::uint64_t>(period.count());
  uv_timer_start(
      &check.timer,
      [](uv_timer_t* t) {
        auto* c = static_cast<Check*>(t->data);
        c->met = (*c->done)();
        if (c->met || std::chrono::steady_clock::now() > c->deadline)
          uv_stop(t->loop);
      },
      every, every);
  uv_run(loop, UV_RUN_DEFAULT);
  // `check` lives on this stack frame: its handle must be closed before we
  // return.
  uv_close(reinterpret_cast<uv_handle_t*>(&check.timer), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);
  return check.met;
}

}  // namespace dtls
