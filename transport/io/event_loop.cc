#include "transport/io/event_loop.h"

#include <pthread.h>

#include <utility>

namespace dtls {

void LoopDispatcher::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (!stopped_) {
      queue_.push_back(std::move(fn));
      // uv_async_send is the one libuv call that is safe from any thread;
      // several sends before the loop wakes coalesce into one callback.
      uv_async_send(&async_);
      return;
    }
  }
  std::lock_guard lock(after_stop_mu_);
  fn();
}

void LoopDispatcher::drain() {
  for (;;) {
    std::vector<std::function<void()>> batch;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return;
      batch.swap(queue_);
    }
    for (auto& fn : batch) fn();
  }
}

void LoopDispatcher::stop_on_loop() {
  auto hooks = std::move(stop_hooks_);
  for (auto& hook : hooks) hook();
  // Whatever was posted before this point still runs on the loop; whatever
  // comes after runs at its caller (post()).
  for (;;) {
    drain();
    std::lock_guard lock(mu_);
    if (queue_.empty()) {
      stopped_ = true;
      break;
    }
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

Result<std::unique_ptr<EventLoop>> EventLoop::start(
    std::string_view thread_name) {
  std::unique_ptr<EventLoop> l(new EventLoop());
  if (int r = uv_loop_init(&l->loop_); r != 0) {
    return make_error("ERR_EVENT_LOOP",
                      std::string("uv_loop_init: ") + uv_strerror(r));
  }
  LoopDispatcher* d = l->dispatcher_.get();
  d->async_.data = d;
  uv_async_init(&l->loop_, &d->async_, [](uv_async_t* a) {
    static_cast<LoopDispatcher*>(a->data)->drain();
  });
  std::promise<void> running;
  std::future<void> started = running.get_future();
  std::string name(thread_name.substr(0, 15));
  l->thread_ = std::thread([loop = &l->loop_, d, &running, name] {
    d->loop_thread_ = std::this_thread::get_id();
    if (!name.empty()) pthread_setname_np(pthread_self(), name.c_str());
    running.set_value();
    uv_run(loop, UV_RUN_DEFAULT);
  });
  started.wait();  // loop_thread_ is set before anyone asks on_loop_thread()
  return l;
}

void EventLoop::stop() {
  if (stopped_) return;
  stopped_ = true;
  dispatcher_->post([d = dispatcher_.get()] { d->stop_on_loop(); });
  // uv_run returns once the endpoints' handles and the async are closed.
  thread_.join();
  uv_loop_close(&loop_);
}

EventLoop::~EventLoop() { stop(); }

}  // namespace dtls
