// The Endpoint handle's members: its socket and secure context, the sessions
// it makes (connect, listen, add_ice_session), and its close.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "transport/dtls_api.h"
#include "transport/dtls_api_impl.h"
#include "transport/handle_support.h"
#include "transport/option_translation.h"

namespace dtls {

namespace {

using detail::access_denied;
using detail::act_on_loop;
using detail::cork_socket;
using detail::empty_handle;
using detail::EndpointImpl;
using detail::info;
using detail::install;
using detail::invalid_argument;
using detail::not_on_loop;
using detail::on_loop_or;
using detail::ready;
using detail::session_installer;
using detail::SessionImpl;
using detail::set_callback;
using detail::when_settled;

}  // namespace

Status Endpoint::set_secure_context(SecureContext context) {
  if (!core_) return empty_handle("Endpoint");
  auto ctx = SecureContextAccess::get(context);
  if (!ctx) return invalid_argument("set_secure_context needs a SecureContext");
  return on_loop_or(
      core_->dispatcher, Status(not_on_loop("set_secure_context")),
      [&]() -> Status {
        if (Status st = core_->check_bound(); !st.ok()) return st;
        if (core_->listening && !ctx->has_certificate() &&
            !core_->udp->options().server_association.psk_server) {
          return invalid_argument("the secure context has no certificate");
        }
        core_->udp->set_context(ctx);
        return Status();
      });
}

std::vector<std::uint8_t> Endpoint::ticket_keys() const {
  if (!core_) return {};
  return on_loop_or(core_->dispatcher, std::vector<std::uint8_t>(),
                    [&]() -> std::vector<std::uint8_t> {
                      if (!core_->udp) return {};
                      auto k = core_->udp->context()->ticket_keys().get();
                      return {k.begin(), k.end()};
                    });
}

Status Endpoint::set_ticket_keys(std::span<const std::uint8_t> keys) {
  if (!core_) return empty_handle("Endpoint");
  return on_loop_or(core_->dispatcher, Status(not_on_loop("set_ticket_keys")),
                    [&]() -> Status {
                      if (Status st = core_->check_bound(); !st.ok()) return st;
                      return core_->udp->context()->ticket_keys().set(keys);
                    });
}

AddressInfo Endpoint::address() const {
  if (!core_) return {};
  PeerAddress local = core_->bound_address();
  return local.empty() ? AddressInfo{} : info(local);
}

EndpointState Endpoint::state() const {
  if (!core_) return {};
  return on_loop_or(core_->dispatcher, EndpointState{}, [&] {
    EndpointState s;
    s.destroyed = core_->ended;
    s.bound = core_->udp != nullptr;
    s.closing = core_->udp && core_->udp->closing();
    s.listening = core_->listening && s.bound && !s.closing;
    s.session_count = core_->sessions.size();
    return s;
  });
}

EndpointStats Endpoint::stats() const {
  if (!core_) return {};
  return on_loop_or(core_->dispatcher, EndpointStats{}, [&] {
    return core_->udp ? core_->live_stats() : core_->snapshot;
  });
}

Result<int> Endpoint::recv_buffer_size() const {
  return socket_buffer_size(true);
}

Result<int> Endpoint::send_buffer_size() const {
  return socket_buffer_size(false);
}

Result<int> Endpoint::socket_buffer_size(bool receive) const {
  // nullopt: asked off the loop; -1: no open socket.
  std::optional<int> bytes = -1;
  if (core_) {
    bytes = on_loop_or(core_->dispatcher, std::optional<int>(),
                       [&]() -> std::optional<int> {
                         if (!core_->udp || core_->udp->closing()) return -1;
                         return receive ? core_->udp->receive_buffer_size()
                                        : core_->udp->send_buffer_size();
                       });
  }
  if (!bytes)
    return not_on_loop(receive ? "recv_buffer_size" : "send_buffer_size");
  if (*bytes < 0) {
    return make_error("ERR_SOCKET_BUFFER_SIZE",
                      "the endpoint's socket is not open");
  }
  return *bytes;
}

void Endpoint::cork() {
  if (!core_) return;
  cork_socket(
      core_->dispatcher, [&] { return core_->udp.get(); }, true);
}

void Endpoint::uncork() {
  if (!core_) return;
  cork_socket(
      core_->dispatcher, [&] { return core_->udp.get(); }, false);
}

void Endpoint::set_busy(bool busy) {
  if (!core_) return;
  act_on_loop(core_->dispatcher, [core = core_, busy] {
    if (core->udp) core->udp->set_busy(busy);
  });
}
bool Endpoint::busy() const {
  if (!core_) return false;
  return on_loop_or(core_->dispatcher, false,
                    [&] { return core_->udp && core_->udp->busy(); });
}
std::shared_future<Status> Endpoint::close() {
  if (core_)
    act_on_loop(core_->dispatcher, [core = core_] { core->close_now(); });
  return closed();
}
Result<Session> Endpoint::connect(std::string_view host, std::uint16_t port,
                                  ConnectOptions options,
                                  SessionListener listener) {
  if (!core_) return empty_handle("Endpoint");
  if (!NetworkPolicy::allowed()) return access_denied();
  // Checked off the loop. A bound endpoint uses only the session's own part
  // (its context serves every session on its socket).
  auto plan = detail::translate_connect(host, port, options);
  if (!plan.ok()) return plan.error();
  return on_loop_or(
      core_->dispatcher, Result<Session>(not_on_loop("Endpoint::connect")),
      [&]() -> Result<Session> {
        auto sc = std::make_shared<SessionImpl>(core_, PeerAddress(),
                                                core_->dispatcher);
        sc->is_client = true;
        if (Status st = core_->start_connect(sc, host, port, std::move(*plan));
            !st.ok()) {
          return st.error();
        }
        // On the loop, before it runs again: nothing is reported yet.
        install(sc, listener);
        return detail::Handles::session(sc);
      });
}

Status Endpoint::listen(ListenOptions options, SessionListener listener) {
  if (!core_) return empty_handle("Endpoint");
  if (!NetworkPolicy::allowed()) return access_denied();
  auto plan = detail::translate_listen(options);
  if (!plan.ok()) return plan.error();
  return on_loop_or(core_->dispatcher, Status(not_on_loop("Endpoint::listen")),
                    [&]() -> Status {
                      return core_->bind_listening(
                          std::move(*plan),
                          session_installer(std::move(listener)));
                    });
}

Result<Endpoint> Endpoint::create(uv_loop_t* loop) {
  if (loop == nullptr) return invalid_argument("no loop");
  return detail::Handles::endpoint(
      std::make_shared<EndpointImpl>(loop, nullptr));
}

Result<Endpoint> Endpoint::create(EventLoop& loop) {
  // Made here without waiting for the loop: nothing of it runs there until
  // its listen() or connect(), asked for on the loop.
  return detail::Handles::endpoint(
      std::make_shared<EndpointImpl>(loop.uv(), loop.dispatcher()));
}

Result<Session> Endpoint::add_ice_session(IceSessionConfig config,
                                          SessionListener listener) {
  if (!core_) return empty_handle("Endpoint");
  const bool dtls_client = config.dtls_client;
  auto translated = detail::translate_ice_session(std::move(config));
  if (!translated.ok()) return translated.error();
  IceSessionOptions& o = *translated;
  return on_loop_or(
      core_->dispatcher, Result<Session>(not_on_loop("add_ice_session")),
      [&]() -> Result<Session> {
        if (Status st = core_->check_bound(); !st.ok()) return st.error();
        auto pins = std::move(o.association.peer_fingerprints);
        o.association = core_->ice_association;
        o.association.peer_fingerprints = std::move(pins);
        const IceCredentials local = o.local;
        if (Status st = core_->udp->add_ice_session(std::move(o)); !st.ok())
          return st.error();
        auto sc = std::make_shared<SessionImpl>(core_, PeerAddress(),
                                                core_->dispatcher);
        sc->ice_waiting = true;
        sc->ice = local;
        sc->is_client = dtls_client;
        core_->ice_pending[local.ufrag] = sc;
        install(sc, listener);
        return detail::Handles::session(sc);
      });
}

void Endpoint::destroy(std::optional<Error> error) {
  if (!core_) return;
  act_on_loop(core_->dispatcher, [core = core_, error = std::move(error)] {
    core->destroy_now(error);
  });
}
std::shared_future<Status> Endpoint::closed() const {
  if (!core_) return ready(Status(empty_handle("Endpoint")));
  return core_->closed.future();
}

std::uint64_t Endpoint::id() const { return core_ ? core_->id : 0; }

void Endpoint::post(std::function<void(Endpoint&)> fn) const {
  if (!fn) return;
  if (!core_) {
    Endpoint empty;
    fn(empty);
    return;
  }
  act_on_loop(core_->dispatcher,
              [self = *this, fn = std::move(fn)]() mutable { fn(self); });
}
void Endpoint::on_drain(std::function<void()> cb) {
  set_callback(core_, &detail::EndpointCallbacks::on_drain, std::move(cb));
}
void Endpoint::on_closed(std::function<void(const Status&)> cb) {
  when_settled(core_, &EndpointImpl::closed, std::move(cb),
               Status(empty_handle("Endpoint")));
}

}  // namespace dtls
