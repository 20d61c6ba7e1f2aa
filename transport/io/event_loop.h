// A libuv loop the library owns, on a thread of its own, for applications
// that do not run one. It is also how work crosses threads: LoopDispatcher
// hands functions to the loop through one uv_async_t (nothing else crosses).
#ifndef DTLS_SRTP_TRANSPORT_IO_EVENT_LOOP_H_
#define DTLS_SRTP_TRANSPORT_IO_EVENT_LOOP_H_

#include <uv.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string_view>
#include <thread>
#include <type_traits>
#include <vector>

#include "transport/base/error.h"

namespace dtls {

// Something packets can be queued for from other threads (a session): the
// loop hands them over in order, between begin_queued() and end_queued()
// once per wakeup, so a target batches what it sends (its socket corked).
class QueuedMediaTarget {
 public:
  virtual ~QueuedMediaTarget() = default;
  // Loop thread.
  virtual void begin_queued() {}
  // `packet` is the target's to change during the call (a datagram handed
  // over is unprotected in place).
  virtual void send_queued(std::uint8_t tag,
                           std::span<std::uint8_t> packet) = 0;
  virtual void end_queued() {}

 private:
  friend class LoopDispatcher;
  bool queued_begun_ = false;  // loop thread only
};

// Shared by the loop and every handle made on it, so that a handle which
// outlives the loop stays safe to call.
class LoopDispatcher : public std::enable_shared_from_this<LoopDispatcher> {
 public:
  // Packets queued with post_media are copied into slots of this size.
  static constexpr size_t kMediaSlotBytes = 2048;
  // At most this many wait at once (slots are made as needed and reused).
  static constexpr size_t kMediaQueueCapacity = 8192;
  // Datagrams another loop of a shared port hands over have a share of
  // their own beside it (PortGroup): neither kind can take the other's room.
  static constexpr size_t kHandOverCapacity = 4096;
  enum class Share { kOwn, kHandOver };
  enum class Queued { kQueued, kFull, kStopped, kTooLarge };

  // Room for the queues' bookkeeping is made here, so that a growing burst
  // of queued media does not allocate.
  LoopDispatcher();

  bool on_loop_thread() const {
    return std::this_thread::get_id() == loop_thread_;
  }

  // Runs fn on the loop thread soon. Once the loop's thread has finished
  // (uv_run returned and the queue is empty), fn runs here and now,
  // serialised with every other such call: nothing else touches the loop's
  // objects then. Posted while the loop is stopping, fn runs on the loop's
  // thread as it finishes.
  void post(std::function<void()> fn);

  // Runs fn on the loop thread and waits for its result; inline when called
  // on the loop thread or after the loop's thread has finished. Called from
  // another library loop's thread, that loop meanwhile runs the calls other
  // threads make to it, so two loops calling each other cannot wait on each
  // other.
  template <class F>
  std::invoke_result_t<F&> call(F&& fn) {
    using R = std::invoke_result_t<F&>;
    if (on_loop_thread()) return fn();
    std::packaged_task<R()> task(std::ref(fn));
    std::future<R> result = task.get_future();
    LoopDispatcher* waiter = current();
    post_call([&task] { task(); }, waiter);
    if (waiter != nullptr) {
      waiter->serve_calls_until([&] {
        return result.wait_for(std::chrono::seconds(0)) ==
               std::future_status::ready;
      });
    }
    return result.get();
  }

  // Runs fn here and returns its result when this thread may touch what the
  // loop owns: on the loop's thread, or on any thread once the loop's thread
  // has finished (serialised as post() does then). On another thread of a
  // running or stopping loop it returns nullopt at once without running fn:
  // nothing here waits.
  template <class F>
  std::optional<std::invoke_result_t<F&>> run_if_here(F&& fn) {
    if (on_loop_thread()) return fn();
    {
      std::lock_guard lock(mu_);
      if (!finished_) return std::nullopt;
    }
    std::lock_guard lock(after_stop_mu_);
    return fn();
  }

  // Any thread, never waits: copies `packet` into the loop's bounded media
  // queue, in order with post(); the loop sends everything queued in one
  // pass per wakeup (target->send_queued). No allocation once enough slots
  // exist. kFull past kMediaQueueCapacity packets, kTooLarge past
  // kMediaSlotBytes, kStopped once the loop has stopped.
  Queued post_media(std::shared_ptr<QueuedMediaTarget> target, std::uint8_t tag,
                    std::span<const std::uint8_t> packet);
  // The same for `head` and `body` one after the other, in one slot, in
  // `share` (kFull past kHandOverCapacity for hand-overs).
  Queued post_media(std::shared_ptr<QueuedMediaTarget> target, std::uint8_t tag,
                    std::span<const std::uint8_t> head,
                    std::span<const std::uint8_t> body,
                    Share share = Share::kOwn);
  // Packets in the media queue now (any thread).
  size_t queued_media() const;

  // The dispatcher whose loop runs on this thread (null on other threads).
  static LoopDispatcher* current();
  // The libuv loop it serves.
  uv_loop_t* uv_loop() const { return uv_loop_; }

  // Runs on the loop thread when the loop is asked to stop, before it
  // finishes: endpoints close themselves here. Loop thread only. What
  // registered a hook cancels it when it ends first: a hook holds a weak
  // reference, which keeps a make_shared object's memory (about 1.3 KiB for
  // a session) until the loop stops, so every connect() on a long-lived loop
  // would otherwise grow it for good.
  // Registered once the hooks have run (the loop is stopping), fn runs at
  // once and the id is 0: nothing made then outlives the loop.
  std::uint64_t at_stop(std::function<void()> fn) {
    if (stopping_) {
      fn();
      return 0;
    }
    const std::uint64_t id = next_stop_hook_++;
    stop_hooks_.emplace(id, std::move(fn));
    return id;
  }
  void cancel_stop(std::uint64_t id) { stop_hooks_.erase(id); }
  size_t stop_hook_count() const { return stop_hooks_.size(); }

  // One T per loop for the layers above, made on first use and kept until
  // the dispatcher goes: state every endpoint of the loop shares (what they
  // learnt of each peer's round trip). `key` tells the users apart (the
  // address of something of theirs). Loop thread only.
  template <class T>
  std::shared_ptr<T> loop_local(const void* key) {
    std::shared_ptr<void>& slot = locals_[key];
    if (!slot) slot = std::make_shared<T>();
    return std::static_pointer_cast<T>(slot);
  }

 private:
  friend class EventLoop;
  void drain();
  void stop_on_loop();
  // The loop's thread, after uv_run returned: runs what was posted while
  // the loop stopped, then lets later posts run at their callers.
  void finish_after_run();

  struct MediaSlot {
    std::shared_ptr<QueuedMediaTarget> target;
    std::uint8_t tag = 0;
    Share share = Share::kOwn;
    size_t size = 0;
    std::array<std::uint8_t, kMediaSlotBytes> bytes;
  };
  // A posted function or a queued packet, in one queue so that both keep
  // the order each thread gave them.
  struct Task {
    std::function<void()> fn;
    MediaSlot* media = nullptr;
    bool call = false;  // from call(): may run while this loop waits
  };

  // Queues a call()'s task (runs it here once stopped, as post() does); when
  // `waiter` (the caller's own loop) is given, it is woken once the task has
  // run.
  void post_call(std::function<void()> fn, LoopDispatcher* waiter);
  // Loop thread, inside a call() to another loop: runs the calls queued
  // here until `done`.
  void serve_calls_until(const std::function<bool()>& done);
  void wake();

  std::thread::id loop_thread_;
  uv_loop_t* uv_loop_ = nullptr;
  uv_async_t async_{};
  mutable std::mutex mu_;
  std::vector<Task> queue_;  // guarded by mu_
  bool stopped_ = false;     // guarded by mu_: the loop takes no more wakeups
  bool finished_ = false;    // guarded by mu_: the loop's thread is done
  bool stopping_ = false;    // loop thread only: the stop hooks have run
  // Media slots: all of them, and those free (guarded by mu_).
  std::vector<std::unique_ptr<MediaSlot>> slots_;
  std::vector<MediaSlot*> free_slots_;
  size_t media_queued_ = 0;   // guarded by mu_; Share::kOwn
  size_t handed_queued_ = 0;  // guarded by mu_; Share::kHandOver
  // Loop thread only: the batch being run, the targets begun in it, the
  // slots it used. Kept between drains so they stop allocating.
  std::vector<Task> draining_;
  int drain_depth_ = 0;  // drain() inside drain(): stop_on_loop
  std::vector<std::shared_ptr<QueuedMediaTarget>> begun_;
  std::vector<MediaSlot*> used_slots_;
  std::recursive_mutex after_stop_mu_;
  // Loop thread only; in registration order.
  std::map<std::uint64_t, std::function<void()>> stop_hooks_;
  std::uint64_t next_stop_hook_ = 1;
  std::map<const void*, std::shared_ptr<void>> locals_;  // loop thread only
  std::condition_variable calls_cv_;  // a call queued, or a waited one done
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
