// A value settled once on a loop thread (a session's opened or closed
// result, an endpoint's closed result), observed two ways: callbacks on the
// loop, run at once when it has already settled, and a std::shared_future
// that any thread may wait on.
#ifndef DTLS_SRTP_TRANSPORT_EVENTUAL_H_
#define DTLS_SRTP_TRANSPORT_EVENTUAL_H_

#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

namespace dtls::detail {

template <typename T>
class Eventual {
 public:
  // Any thread. The future's shared state is made only when someone asks for
  // it: most sessions are driven by callbacks, and a promise costs two heap
  // blocks.
  std::shared_future<T> future() {
    std::lock_guard lock(mu_);
    if (!future_.valid()) {
      std::promise<T> promise;
      future_ = promise.get_future().share();
      if (value_) {
        promise.set_value(*value_);
      } else {
        promise_.emplace(std::move(promise));
      }
    }
    return future_;
  }

  // The rest on the loop thread.
  const std::optional<T>& value() const { return value_; }

  // The first call settles it and runs the callbacks given so far; later
  // calls change nothing.
  void settle(const T& value) {
    {
      std::lock_guard lock(mu_);
      if (value_) return;
      value_ = value;
      if (promise_) {
        promise_->set_value(value);
        promise_.reset();
      }
    }
    // Copies: a callback may drop the last reference to this object's owner.
    const T settled = value;
    auto callbacks = std::move(callbacks_);
    callbacks_.clear();
    for (auto& cb : callbacks) cb(settled);
  }

  // Runs `cb` once settled: now if it is.
  void then(std::function<void(const T&)> cb) {
    if (value_) {
      cb(*value_);
    } else {
      callbacks_.push_back(std::move(cb));
    }
  }

  // Callbacks often hold a handle to their owner: dropped when it ends, so
  // that nothing keeps it alive through itself.
  void drop_callbacks() { callbacks_.clear(); }

 private:
  std::mutex mu_;
  std::optional<std::promise<T>> promise_;
  std::shared_future<T> future_;
  std::optional<T> value_;  // written under mu_, read on the loop thread
  std::vector<std::function<void(const T&)>> callbacks_;
};

}  // namespace dtls::detail

#endif  // DTLS_SRTP_TRANSPORT_EVENTUAL_H_
