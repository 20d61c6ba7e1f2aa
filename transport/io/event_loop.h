// A libuv loop the library owns, on a thread of its own, for applications
// that do not run one. It is also how work crosses threads: LoopDispatcher
// hands functions to the loop through one uv_async_t (nothing else crosses).
#ifndef DTLS_SRTP_TRANSPORT_IO_EVENT_LOOP_H_
#define DTLS_SRTP_TRANSPORT_IO_EVENT_LOOP_H_

#include <uv.h>

#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "transport/base/error.h"

namespace dtls {

// Shared by the loop and every handle made on it, so that a handle which
// outlives the loop stays safe to call.
class LoopDispatcher {
 public:
  bool on_loop_thread() const {
    return std::this_thread::get_id() == loop_thread_;
  }

  // Runs fn on the loop thread soon. Once the loop has stopped, fn runs here
  // and now, serialised with every other such call (the loop no longer
  // touches anything, so this is safe).
  void post(std::function<void()> fn);

  // Runs fn on the loop thread and waits for its result; inline when called
  // on the loop thread or after the loop has stopped. Never call it on the
  // loop thread of another dispatcher's loop while that loop waits for this
  // one (the two loops would wait for each other).
  template <class F>
  std::invoke_result_t<F&> call(F&& fn) {
    using R = std::invoke_result_t<F&>;
    if (on_loop_thread()) return fn();
    std::packaged_task<R()> task(std::ref(fn));
    std::future<R> result = task.get_future();
    post([&task] { task(); });
    return result.get();
  }

  // Runs on the loop thread when the loop is asked to stop, before it
  // finishes: endpoints close themselves here. Loop thread only.
  void at_stop(std::function<void()> fn) {
    stop_hooks_.push_back(std::move(fn));
  }

 private:
  friend class EventLoop;
  void drain();
  void stop_on_loop();

  std::thread::id loop_thread_;
  uv_async_t async_{};
  std::mutex mu_;
  std::vector<std::function<void()>> queue_;  // guarded by mu_
  bool stopped_ = false;                      // guarded by mu_
  std::recursive_mutex after_stop_mu_;
  std::vector<std::function<void()>> stop_hooks_;  // loop thread only
};

class EventLoop {
 public:
  // Starts a loop on a new thread, named `thread_name` when given (as top -H
  // and perf show it; Linux keeps the first 15 bytes).
  static Result<std::unique_ptr<EventLoop>> start(
      std::string_view thread_name = {});
  // stop().
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Closes every endpoint made on this loop gracefully (close_notify to each
  // session), waits for their sockets to be released, and joins the thread.
  // Handles stay safe to use afterwards: their calls fail as for a destroyed
  // session. Must not be called from the loop's own thread.
  void stop();

  uv_loop_t* uv() { return &loop_; }
  const std::shared_ptr<LoopDispatcher>& dispatcher() const {
    return dispatcher_;
  }

 private:
  EventLoop() = default;
  uv_loop_t loop_{};
  std::shared_ptr<LoopDispatcher> dispatcher_ =
      std::make_shared<LoopDispatcher>();
  std::thread thread_;
  bool stopped_ = false;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_IO_EVENT_LOOP_H_
