#include "transport/io/event_loop.h"

#include <pthread.h>

#include <algorithm>
#include <iterator>
#include <utility>

namespace dtls {

namespace {
thread_local LoopDispatcher* t_current = nullptr;
}  // namespace

LoopDispatcher* LoopDispatcher::current() { return t_current; }

LoopDispatcher::LoopDispatcher() {
  // Every packet the media queue can hold, plus posted functions beside them.
  constexpr size_t kTasks = kMediaQueueCapacity + kHandOverCapacity + 1024;
  queue_.reserve(kTasks);
  draining_.reserve(kTasks);
  free_slots_.reserve(kMediaQueueCapacity + kHandOverCapacity);
  used_slots_.reserve(kMediaQueueCapacity + kHandOverCapacity);
  begun_.reserve(1024);
}

void LoopDispatcher::post_call(std::function<void()> fn,
                               LoopDispatcher* waiter) {
  {
    std::lock_guard lock(mu_);
    if (!finished_) {
      if (waiter != nullptr) {
        // Held: once fn() has made the answer ready, the waiting loop may
        // return, stop and let go of its dispatcher before wake() runs.
        fn = [fn = std::move(fn), waiter = waiter->shared_from_this()] {
          fn();
          waiter->wake();
        };
      }
      queue_.push_back({std::move(fn), nullptr, true});
      // Stopped: the loop's thread runs it as it finishes.
      if (!stopped_) uv_async_send(&async_);
      // This loop may itself be inside a call() to another loop.
      calls_cv_.notify_all();
      return;
    }
  }
  // The loop's thread has finished: here and now, as post() does.
  std::lock_guard lock(after_stop_mu_);
  fn();
}

void LoopDispatcher::wake() {
  std::lock_guard lock(mu_);
  calls_cv_.notify_all();
}

void LoopDispatcher::serve_calls_until(const std::function<bool()>& done) {
  std::vector<Task> calls;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      for (;;) {
        if (done()) return;
        // Only call()s: posts and media keep their order for the loop.
        auto first_call =
            std::stable_partition(queue_.begin(), queue_.end(),
                                  [](const Task& t) { return !t.call; });
        if (first_call != queue_.end()) {
          std::move(first_call, queue_.end(), std::back_inserter(calls));
          queue_.erase(first_call, queue_.end());
          break;
        }
        calls_cv_.wait(lock);
      }
    }
    for (Task& t : calls) t.fn();
    calls.clear();
  }
}

void LoopDispatcher::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (!finished_) {
      queue_.push_back({std::move(fn), nullptr});
      // uv_async_send is the one libuv call that is safe from any thread;
      // several sends before the loop wakes coalesce into one callback.
      // Stopped: the loop's thread runs it as it finishes.
      if (!stopped_) uv_async_send(&async_);
      return;
    }
  }
  std::lock_guard lock(after_stop_mu_);
  fn();
}

LoopDispatcher::Queued LoopDispatcher::post_media(
    std::shared_ptr<QueuedMediaTarget> target, std::uint8_t tag,
    std::span<const std::uint8_t> packet) {
  return post_media(std::move(target), tag, {}, packet);
}

LoopDispatcher::Queued LoopDispatcher::post_media(
    std::shared_ptr<QueuedMediaTarget> target, std::uint8_t tag,
    std::span<const std::uint8_t> head, std::span<const std::uint8_t> body,
    Share share) {
  MediaSlot* slot = nullptr;
  size_t& queued =
      share == Share::kOwn ? media_queued_ : handed_queued_;  // under mu_
  const size_t capacity =
      share == Share::kOwn ? kMediaQueueCapacity : kHandOverCapacity;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return Queued::kStopped;
    if (head.size() + body.size() > kMediaSlotBytes) return Queued::kTooLarge;
    if (queued >= capacity) return Queued::kFull;
    if (free_slots_.empty()) {
      // Warm-up only: slots are reused, so a steady flow allocates nothing.
      slots_.push_back(std::make_unique<MediaSlot>());
      slot = slots_.back().get();
    } else {
      slot = free_slots_.back();
      free_slots_.pop_back();
    }
    ++queued;
  }
  // The slot is ours until it is queued: copy outside the lock.
  slot->target = std::move(target);
  slot->tag = tag;
  slot->share = share;
  slot->size = head.size() + body.size();
  std::copy(body.begin(), body.end(),
            std::copy(head.begin(), head.end(), slot->bytes.begin()));
  std::lock_guard lock(mu_);
  if (stopped_) {
    // Stopped while copying: nothing will send it.
    slot->target.reset();
    free_slots_.push_back(slot);
    --queued;
    return Queued::kStopped;
  }
  queue_.push_back({nullptr, slot});
  uv_async_send(&async_);
  return Queued::kQueued;
}

size_t LoopDispatcher::queued_media() const {
  std::lock_guard lock(mu_);
  return media_queued_;
}

void LoopDispatcher::drain() {
  // stop_on_loop drains from inside a drain (it is a posted task itself):
  // the nested one takes its batch into storage of its own, or it would
  // swap the outer batch back into the queue and run it twice.
  std::vector<Task> nested;
  std::vector<Task>& batch = drain_depth_ == 0 ? draining_ : nested;
  ++drain_depth_;
  struct Leave {
    int& depth;
    ~Leave() { --depth; }
  } leave{drain_depth_};
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return;
      queue_.swap(batch);
    }
    for (Task& t : batch) {
      if (t.media == nullptr) {
        t.fn();
        continue;
      }
      MediaSlot& m = *t.media;
      if (!m.target->queued_begun_) {
        m.target->queued_begun_ = true;
        m.target->begin_queued();
        begun_.push_back(m.target);
      }
      m.target->send_queued(m.tag, std::span(m.bytes).first(m.size));
      m.target.reset();
      used_slots_.push_back(t.media);
    }
    for (auto& target : begun_) {
      target->queued_begun_ = false;
      target->end_queued();
    }
    begun_.clear();
    batch.clear();  // draining_ keeps its capacity for the next swap
    std::lock_guard lock(mu_);
    free_slots_.insert(free_slots_.end(), used_slots_.begin(),
                       used_slots_.end());
    for (const MediaSlot* m : used_slots_)
      --(m->share == Share::kOwn ? media_queued_ : handed_queued_);
    used_slots_.clear();
  }
}

void LoopDispatcher::stop_on_loop() {
  // What registers from here on (made by a task still queued) is ended at
  // once by at_stop: a socket opened now would keep uv_run from returning.
  stopping_ = true;
  auto hooks = std::move(stop_hooks_);
  stop_hooks_.clear();
  for (auto& [id, hook] : hooks) hook();
  // Whatever was posted before this point still runs in this wakeup;
  // whatever comes after runs on this thread once uv_run has returned
  // (finish_after_run), then at its caller (post()).
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

void LoopDispatcher::finish_after_run() {
  std::vector<Task> batch;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) {
        finished_ = true;
        return;
      }
      queue_.swap(batch);
    }
    // Media is refused once stopped: only functions are left.
    for (Task& t : batch) {
      if (t.fn) t.fn();
    }
    batch.clear();
  }
}

Result<std::unique_ptr<EventLoop>> EventLoop::start(
    std::string_view thread_name) {
  std::unique_ptr<EventLoop> l(new EventLoop());
  if (int r = uv_loop_init(&l->loop_); r != 0) {
    return make_error("ERR_EVENT_LOOP",
                      std::string("uv_loop_init: ") + uv_strerror(r));
  }
  LoopDispatcher* d = l->dispatcher_.get();
  d->uv_loop_ = &l->loop_;
  d->async_.data = d;
  uv_async_init(&l->loop_, &d->async_, [](uv_async_t* a) {
    static_cast<LoopDispatcher*>(a->data)->drain();
  });
  std::promise<void> running;
  std::future<void> started = running.get_future();
  std::string name(thread_name.substr(0, 15));
  l->thread_ = std::thread([loop = &l->loop_, d, &running, name] {
    d->loop_thread_ = std::this_thread::get_id();
    t_current = d;
    if (!name.empty()) pthread_setname_np(pthread_self(), name.c_str());
    running.set_value();
    uv_run(loop, UV_RUN_DEFAULT);
    d->finish_after_run();
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
