// The shared handle helpers of handle_support.h: making handles, running on
// the loop, installing a SessionListener, corking.
#include "transport/handle_support.h"

#include <memory>
#include <string>
#include <utility>

namespace dtls::detail {

namespace {

// A listener callback as one of the session's callbacks: it gets a handle to
// the session, made when it runs (the session is held weakly: no cycle).
template <class... Args>
std::function<void(Args...)> with_handle(
    const std::shared_ptr<SessionImpl>& core,
    std::function<void(Session&, Args...)> f) {
  if (!f) return nullptr;
  return [weak = std::weak_ptr<SessionImpl>(core),
          f = std::move(f)](Args... args) {
    if (auto c = weak.lock()) {
      Session s = detail::Handles::session(std::move(c));
      f(s, args...);
    }
  };
}

}  // namespace

Error empty_handle(std::string_view what) {
  return make_error("ERR_INVALID_STATE",
                    "an empty " + std::string(what) + " handle");
}

Error access_denied() {
  return make_error(
      "ERR_ACCESS_DENIED",
      // node's message, with its `permission` property in the text.
      "Access to this API has been restricted (permission: Net). Use "
      "NetworkPolicy::set_allowed(true) to allow network use.");
}

AddressInfo info(const PeerAddress& a) {
  return {a.ip(), a.family(), a.port()};
}

void post_to_loop(const std::shared_ptr<LoopDispatcher>& d,
                  std::function<void()> fn) {
  if (d) {
    d->post(std::move(fn));
  } else {
    fn();
  }
}

Error not_on_loop(std::string_view what) {
  return make_error(Errc::kNotOnLoop,
                    std::string(what) +
                        " was called from a thread that is not its loop's: "
                        "ask() for the loop's answer");
}

void act_on_loop(const std::shared_ptr<LoopDispatcher>& d,
                 std::function<void()> fn) {
  if (!d || d->on_loop_thread()) {
    fn();
  } else {
    d->post(std::move(fn));
  }
}

bool off_loop(const std::shared_ptr<LoopDispatcher>& d) {
  return d && !d->on_loop_thread();
}

void install(const std::shared_ptr<SessionImpl>& core,
             const SessionListener& l) {
  detail::SessionCallbacks& cb = core->callbacks;
  if (l.on_handshake) cb.on_handshake = with_handle(core, l.on_handshake);
  if (l.on_message) cb.on_message = with_handle(core, l.on_message);
  if (l.on_rtp) cb.on_rtp = with_handle(core, l.on_rtp);
  if (l.on_rtcp) cb.on_rtcp = with_handle(core, l.on_rtcp);
  if (l.on_error) cb.on_error = with_handle(core, l.on_error);
  if (l.on_drain) cb.on_drain = with_handle(core, l.on_drain);
  if (l.on_keylog) cb.on_keylog = with_handle(core, l.on_keylog);
  if (l.on_session) cb.on_session = with_handle(core, l.on_session);
  if (l.on_opened) core->opened.then(with_handle(core, l.on_opened));
  if (l.on_closed) core->closed.then(with_handle(core, l.on_closed));
  if (l.on_created) {
    Session s = detail::Handles::session(core);
    l.on_created(s);
  }
}

std::function<void(Session)> session_installer(SessionListener listener) {
  return [listener = std::move(listener)](Session s) {
    install(detail::Handles::core(s), listener);
  };
}

void cork_socket(const std::shared_ptr<LoopDispatcher>& dispatcher,
                 const std::function<UdpEndpoint*()>& udp, bool cork) {
  if (off_loop(dispatcher)) return;
  if (UdpEndpoint* u = udp()) cork ? u->cork() : u->uncork();
}

Endpoint Handles::endpoint(std::shared_ptr<EndpointImpl> core) {
  if (core->dispatcher) {
    // On the loop: at once from listen(), posted by Endpoint::create() from
    // another thread (which does not wait for it).
    act_on_loop(core->dispatcher, [weak = std::weak_ptr(core)] {
      auto c = weak.lock();
      if (!c || c->ended) return;
      if (!c->dispatcher->on_loop_thread()) {
        c->destroy_now(std::nullopt);  // the loop had stopped: nothing to run
        return;
      }
      c->stop_hook = c->dispatcher->at_stop([weak] {
        if (auto c = weak.lock()) c->close_now();
      });
    });
  }
  Endpoint e;
  e.core_ = core;
  // [Symbol.asyncDispose]: the last handle's drop closes gracefully, from
  // whichever thread drops it.
  e.owner_ = std::shared_ptr<void>(nullptr, [core](void*) {
    post_to_loop(core->dispatcher, [core] { core->close_now(); });
  });
  return e;
}

}  // namespace dtls::detail
