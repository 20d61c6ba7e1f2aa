// The helpers the Session and Endpoint members and listen/connect share (in
// dtls::detail). Private to //transport:dtls_api.
#ifndef DTLS_SRTP_TRANSPORT_HANDLE_SUPPORT_H_
#define DTLS_SRTP_TRANSPORT_HANDLE_SUPPORT_H_

#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "transport/dtls_api.h"
#include "transport/dtls_api_impl.h"
#include "transport/io/udp_endpoint.h"

namespace dtls::detail {

// Makes the handles given to SessionListener callbacks.
struct Handles {
  static Session session(std::shared_ptr<SessionImpl> core) {
    Session s;
    s.owner_ = core->owner.lock();
    s.core_ = std::move(core);
    return s;
  }
  static const std::shared_ptr<SessionImpl>& core(const Session& s) {
    return s.core_;
  }
  // The first handle to a new endpoint: the one whose copies own it.
  static Endpoint endpoint(std::shared_ptr<EndpointImpl> core);
};

// What every member of an empty (default-constructed) handle that returns an
// error returns.
Error empty_handle(std::string_view what);

template <class T>
std::shared_future<T> ready(T value) {
  std::promise<T> p;
  p.set_value(std::move(value));
  return p.get_future().share();
}

Error access_denied();

AddressInfo info(const PeerAddress& a);

// What the loop owns, read or changed without ever waiting for the loop:
// fn runs at once where this thread may run it (the loop's thread, a loop
// whose thread has finished, or without a dispatcher: the caller's loop). On
// another thread of a running loop the answer is `elsewhere` (the handles'
// ask() gets the loop's).
template <class T, class F>
T on_loop_or(const std::shared_ptr<LoopDispatcher>& d, T elsewhere, F&& fn) {
  if (!d) return fn();
  std::optional<T> answer = d->run_if_here([&]() -> T { return fn(); });
  return answer ? std::move(*answer) : std::move(elsewhere);
}

// ERR_NOT_ON_LOOP, naming the call made off its loop.
Error not_on_loop(std::string_view what);

void post_to_loop(const std::shared_ptr<LoopDispatcher>& d,
                  std::function<void()> fn);

// Actions with nothing to return: at once on the loop thread (or without a
// dispatcher: the caller's loop), else posted; they never wait.
void act_on_loop(const std::shared_ptr<LoopDispatcher>& d,
                 std::function<void()> fn);

bool off_loop(const std::shared_ptr<LoopDispatcher>& d);

// Every on_* setter of Session and Endpoint: replaces one callback of the
// session or endpoint, on its loop. An ended one takes none: it has dropped
// its callbacks for good (they often hold a handle to it).
template <class Impl, class Callbacks, class Callback>
void set_callback(const std::shared_ptr<Impl>& core, Callback Callbacks::*slot,
                  std::type_identity_t<Callback> cb) {
  if (!core) return;
  act_on_loop(core->dispatcher, [core, slot, cb = std::move(cb)]() mutable {
    if (!core->ended) core->callbacks.*slot = std::move(cb);
  });
}

// on_opened / on_closed: `cb` runs on the loop once the result is settled, at
// once if it already is; on an empty handle at once, with `empty`.
template <class Impl, class T>
void when_settled(const std::shared_ptr<Impl>& core,
                  detail::Eventual<T> Impl::*result,
                  std::function<void(const T&)> cb, const T& empty) {
  if (!core) {
    if (cb) cb(empty);
    return;
  }
  act_on_loop(core->dispatcher, [core, result, cb = std::move(cb)]() mutable {
    ((*core).*result).then(std::move(cb));
  });
}

// Loop thread, before the session can report anything.
void install(const std::shared_ptr<SessionImpl>& core,
             const SessionListener& l);

// listen()'s on_session for a listener: installs it on each server session.
std::function<void(Session)> session_installer(SessionListener listener);

// Corks or uncorks the socket under a session or an endpoint. Only on the
// loop thread: sends from other threads are batched per wakeup anyway, and a
// cork held across threads would hold every session's media.
void cork_socket(const std::shared_ptr<LoopDispatcher>& dispatcher,
                 const std::function<UdpEndpoint*()>& udp, bool cork);

}  // namespace dtls::detail

#endif  // DTLS_SRTP_TRANSPORT_HANDLE_SUPPORT_H_
