// listen(), connect() and NetworkPolicy; the handles' members are in
// session_handle.cc and endpoint_handle.cc, their helpers in handle_support.
#include "transport/dtls_api.h"

#include <atomic>
#include <memory>
#include <utility>

#include "transport/dtls_api_impl.h"
#include "transport/handle_support.h"
#include "transport/io/host_resolution.h"
#include "transport/option_translation.h"

namespace dtls {

namespace {

using detail::access_denied;
using detail::EndpointImpl;
using detail::install;
using detail::invalid_argument;
using detail::post_to_loop;
using detail::session_installer;
using detail::SessionImpl;

std::atomic<bool> g_network_allowed{true};

}  // namespace

void NetworkPolicy::set_allowed(bool allowed) { g_network_allowed = allowed; }
bool NetworkPolicy::allowed() { return g_network_allowed; }

// ---- listen / connect

Result<Endpoint> listen_on(uv_loop_t* loop,
                           std::shared_ptr<LoopDispatcher> dispatcher,
                           std::function<void(Session)> on_session,
                           ListenOptions options) {
  if (!NetworkPolicy::allowed()) return access_denied();
  if (loop == nullptr) return invalid_argument("no loop");
  auto plan = detail::translate_listen(options);
  if (!plan.ok()) return plan.error();
  auto core = std::make_shared<EndpointImpl>(loop, std::move(dispatcher));
  if (Status st = core->bind_listening(std::move(*plan), std::move(on_session));
      !st.ok()) {
    return st.error();
  }
  return detail::Handles::endpoint(std::move(core));
}

Result<Session> connect_on(uv_loop_t* loop,
                           std::shared_ptr<LoopDispatcher> dispatcher,
                           std::string_view host, std::uint16_t port,
                           ConnectOptions options, SessionListener listener) {
  if (!NetworkPolicy::allowed()) return access_denied();
  if (loop == nullptr) return invalid_argument("no loop");
  auto plan = detail::translate_connect(host, port, options);
  if (!plan.ok()) return plan.error();
  auto opened = detail::open_client(loop, dispatcher, host, port,
                                    std::move(plan).value());
  if (!opened.ok()) return opened.error();
  std::shared_ptr<SessionImpl> session_core = std::move(opened).value();
  if (dispatcher) {
    session_core->stop_hook =
        dispatcher->at_stop([weak = std::weak_ptr(session_core)] {
          if (auto s = weak.lock()) s->close_now();
        });
  }
  Session session;
  session.core_ = session_core;
  // The token's deleter lives as long as the session's weak `owner` to it,
  // so it holds the session weakly (the endpoint holds it while it runs).
  session.owner_ = std::shared_ptr<void>(
      nullptr, [weak = std::weak_ptr<SessionImpl>(session_core),
                dispatcher = session_core->dispatcher](void*) {
        post_to_loop(dispatcher, [weak] {
          if (auto s = weak.lock()) s->close_now();
        });
      });
  session_core->owner = session.owner_;
  // Still on the loop, before it can run: nothing is reported yet.
  install(session_core, listener);
  return session;
}

Result<Endpoint> listen(uv_loop_t* loop,
                        std::function<void(Session)> on_session,
                        ListenOptions options) {
  return listen_on(loop, nullptr, std::move(on_session), std::move(options));
}

Result<Endpoint> listen(uv_loop_t* loop, SessionListener listener,
                        ListenOptions options) {
  return listen_on(loop, nullptr, session_installer(std::move(listener)),
                   std::move(options));
}

Result<Session> connect(uv_loop_t* loop, std::string_view host,
                        std::uint16_t port, ConnectOptions options,
                        SessionListener listener) {
  return connect_on(loop, nullptr, host, port, std::move(options),
                    std::move(listener));
}

Result<Endpoint> listen(EventLoop& loop,
                        std::function<void(Session)> on_session,
                        ListenOptions options) {
  return loop.dispatcher()->call([&] {
    return listen_on(loop.uv(), loop.dispatcher(), std::move(on_session),
                     std::move(options));
  });
}

Result<Endpoint> listen(EventLoop& loop, SessionListener listener,
                        ListenOptions options) {
  return listen(loop, session_installer(std::move(listener)),
                std::move(options));
}

Result<Session> connect(EventLoop& loop, std::string_view host,
                        std::uint16_t port, ConnectOptions options,
                        SessionListener listener) {
  return loop.dispatcher()->call([&] {
    return connect_on(loop.uv(), loop.dispatcher(), host, port,
                      std::move(options), std::move(listener));
  });
}

}  // namespace dtls
