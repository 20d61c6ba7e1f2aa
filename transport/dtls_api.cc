#include "transport/dtls_api.h"

#include <atomic>
#include <memory>
#include <type_traits>
#include <utility>

#include "transport/dtls/srtp_keying.h"
#include "transport/dtls_api_impl.h"
#include "transport/io/host_resolution.h"
#include "transport/io/udp_endpoint.h"
#include "transport/option_translation.h"

namespace dtls {

namespace detail {

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

}  // namespace detail

namespace {

using detail::EndpointImpl;
using detail::invalid_argument;
using detail::SessionImpl;

std::atomic<bool> g_network_allowed{true};

Error destroyed() { return make_error(Errc::kDtlsSessionDestroyed); }

// What every member of an empty (default-constructed) handle that returns an
// error returns.
Error empty_handle(std::string_view what) {
  return make_error("ERR_INVALID_STATE",
                    "an empty " + std::string(what) + " handle");
}

template <class T>
std::shared_future<T> ready(T value) {
  std::promise<T> p;
  p.set_value(std::move(value));
  return p.get_future().share();
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

// Runs fn on the loop thread (at once without a dispatcher: the caller's loop).
template <class F>
auto on_loop(const std::shared_ptr<LoopDispatcher>& d, F&& fn) {
  if (!d) return fn();
  return d->call(std::forward<F>(fn));
}

void post_to_loop(const std::shared_ptr<LoopDispatcher>& d,
                  std::function<void()> fn) {
  if (d) {
    d->post(std::move(fn));
  } else {
    fn();
  }
}

// Actions with nothing to return: at once on the loop thread (or without a
// dispatcher: the caller's loop), else posted; they never wait.
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

// A send from a thread that is not the session's loop: checked against what
// the loop published (open, ended, the SRTP trailers), copied into the
// loop's queue, and sent there with the next batch; it never waits. The
// result is what the send will put on the wire; a failure on the loop is
// counted in stats().posted_send_failures.
Result<size_t> queue_send(const std::shared_ptr<SessionImpl>& core,
                          std::uint8_t tag,
                          std::span<const std::uint8_t> bytes) {
  switch (core->cross_state.load(std::memory_order_acquire)) {
    case SessionImpl::kNotOpen:
      return make_error(Errc::kDtlsSessionNotOpen);
    case SessionImpl::kEnded:
      return destroyed();
    default:
      break;
  }
  size_t wire = bytes.size();
  if (tag != SessionImpl::kQueuedMessage) {
    const int trailer = static_cast<PacketKind>(tag) == PacketKind::kRtp
                            ? core->rtp_trailer
                            : core->rtcp_trailer;
    if (trailer < 0) return make_error(Errc::kSrtpNotNegotiated);
    wire += static_cast<size_t>(trailer);
  }
  switch (core->dispatcher->post_media(core, tag, bytes)) {
    case LoopDispatcher::Queued::kQueued:
      return wire;
    case LoopDispatcher::Queued::kFull:  // the loop's queue, not the socket's
      return make_error(Errc::kSendQueueFull);
    case LoopDispatcher::Queued::kStopped:
      return destroyed();
    case LoopDispatcher::Queued::kTooLarge:
      break;
  }
  // Larger than a queue slot (a big DTLS message): a copy of its own.
  core->dispatcher->post(
      [core, tag,
       copy = std::vector<std::uint8_t>(bytes.begin(), bytes.end())] {
        // Inside a batch that has begun this session (its socket corked),
        // it joins it; otherwise it makes a batch of its own.
        if (core->queued_socket) {
          core->send_queued(tag, copy);
          return;
        }
        core->begin_queued();
        core->send_queued(tag, copy);
        core->end_queued();
      });
  return wire;
}

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

// Loop thread, before the session can report anything.
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

// listen()'s on_session for a listener: installs it on each server session.
std::function<void(Session)> session_installer(SessionListener listener) {
  return [listener = std::move(listener)](Session s) {
    install(detail::Handles::core(s), listener);
  };
}

// Reads one property of the live association (`fallback` once it has ended).
template <class T, class F>
T read_association(const std::shared_ptr<SessionImpl>& core, T fallback,
                   F&& read) {
  if (!core) return fallback;
  return on_loop(core->dispatcher, [&]() -> T {
    auto* a = core->association();
    return a ? read(*a) : fallback;
  });
}

// Sends through the session's socket on the loop: ERR_DTLS_SESSION_NOT_OPEN
// while its host name resolves, ERR_DTLS_SESSION_DESTROYED once it has ended.
template <class F>
Result<size_t> send_on_socket(const std::shared_ptr<SessionImpl>& core,
                              F&& send) {
  if (!core) return empty_handle("Session");
  return on_loop(core->dispatcher, [&]() -> Result<size_t> {
    // Its host name is still being resolved.
    if (core->resolving) return make_error(Errc::kDtlsSessionNotOpen);
    auto ep = core->endpoint.lock();
    if (core->ended || !ep || !ep->udp) return destroyed();
    return send(*ep->udp, core->peer);
  });
}

Result<size_t> send_media(const std::shared_ptr<SessionImpl>& core,
                          PacketKind kind,
                          std::span<const std::uint8_t> packet) {
  if (core && off_loop(core->dispatcher))
    return queue_send(core, static_cast<std::uint8_t>(kind), packet);
  return send_on_socket(core, [&](UdpEndpoint& udp, const PeerAddress& peer) {
    return udp.send_media(peer, kind, packet);
  });
}

// The socket a session sends on (loop thread), or null once it is gone.
UdpEndpoint* socket_of(const std::shared_ptr<SessionImpl>& core) {
  auto ep = core->endpoint.lock();
  return ep ? ep->udp.get() : nullptr;
}

// Corks or uncorks the socket under a session or an endpoint. Only on the
// loop thread: sends from other threads are batched per wakeup anyway, and a
// cork held across threads would hold every session's media.
void cork_socket(const std::shared_ptr<LoopDispatcher>& dispatcher,
                 const std::function<UdpEndpoint*()>& udp, bool cork) {
  if (off_loop(dispatcher)) return;
  if (UdpEndpoint* u = udp()) cork ? u->cork() : u->uncork();
}

}  // namespace

Endpoint detail::Handles::endpoint(std::shared_ptr<EndpointImpl> core) {
  if (core->dispatcher) {
    core->dispatcher->at_stop([weak = std::weak_ptr(core)] {
      if (auto c = weak.lock()) c->close_now();
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

void NetworkPolicy::set_allowed(bool allowed) { g_network_allowed = allowed; }
bool NetworkPolicy::allowed() { return g_network_allowed; }

// ---- Session

Result<size_t> Session::send(std::span<const std::uint8_t> data) {
  if (core_ && off_loop(core_->dispatcher))
    return queue_send(core_, SessionImpl::kQueuedMessage, data);
  return send_on_socket(core_, [&](UdpEndpoint& udp, const PeerAddress& peer) {
    return udp.send(peer, data);
  });
}

Result<size_t> Session::send(std::string_view text) {
  return send(
      {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

Result<size_t> Session::send_rtp(std::span<const std::uint8_t> packet) {
  return send_media(core_, PacketKind::kRtp, packet);
}

Result<size_t> Session::send_rtcp(std::span<const std::uint8_t> packet) {
  return send_media(core_, PacketKind::kRtcp, packet);
}

void Session::cork() {
  if (core_)
    cork_socket(
        core_->dispatcher, [&] { return socket_of(core_); }, true);
}

void Session::uncork() {
  if (core_)
    cork_socket(
        core_->dispatcher, [&] { return socket_of(core_); }, false);
}

void Session::on_drain(std::function<void()> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_drain, std::move(cb));
}
void Session::on_rtp(std::function<void(std::span<const std::uint8_t>)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_rtp, std::move(cb));
}
void Session::on_rtcp(std::function<void(std::span<const std::uint8_t>)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_rtcp, std::move(cb));
}
void Session::on_message(
    std::function<void(std::span<const std::uint8_t>)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_message, std::move(cb));
}
void Session::on_error(std::function<void(const Error&)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_error, std::move(cb));
}
void Session::on_handshake(std::function<void(const std::string&)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_handshake, std::move(cb));
}
void Session::on_keylog(std::function<void(std::string_view)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_keylog, std::move(cb));
}
void Session::on_session(
    std::function<void(std::span<const std::uint8_t>)> cb) {
  set_callback(core_, &detail::SessionCallbacks::on_session, std::move(cb));
}
void Session::on_opened(std::function<void(const Result<std::string>&)> cb) {
  when_settled(core_, &SessionImpl::opened, std::move(cb),
               Result<std::string>(empty_handle("Session")));
}
void Session::on_closed(std::function<void(const Status&)> cb) {
  when_settled(core_, &SessionImpl::closed, std::move(cb),
               Status(empty_handle("Session")));
}

std::shared_future<Result<std::string>> Session::opened() const {
  if (!core_) return ready(Result<std::string>(empty_handle("Session")));
  return core_->opened.future();
}
std::shared_future<Status> Session::closed() const {
  if (!core_) return ready(Status(empty_handle("Session")));
  return core_->closed.future();
}

std::uint64_t Session::id() const { return core_ ? core_->id : 0; }

void Session::post(std::function<void(Session&)> fn) const {
  if (!fn) return;
  if (!core_) {
    Session empty;
    fn(empty);
    return;
  }
  // The handle runs with the caller's hold on the session (owner included).
  act_on_loop(core_->dispatcher,
              [self = *this, fn = std::move(fn)]() mutable { fn(self); });
}

Result<srtp::SrtpKeys> Session::srtp_keys() const {
  if (!core_) return empty_handle("Session");
  return read_association(
      core_, Result<srtp::SrtpKeys>(destroyed()),
      [](DtlsAssociation& a) { return export_srtp_keys(a); });
}

srtp::Side Session::srtp_side() const {
  return core_ && core_->is_client ? srtp::Side::kClient : srtp::Side::kServer;
}

std::shared_future<Status> Session::close() {
  if (core_)
    act_on_loop(core_->dispatcher, [core = core_] { core->close_now(); });
  return closed();
}

void Session::destroy(std::optional<Error> error) {
  if (core_) {
    act_on_loop(core_->dispatcher, [core = core_, error = std::move(error)] {
      core->destroy_now(error);
    });
  }
}

AddressInfo Session::remote_address() const {
  if (!core_) return {};
  return on_loop(core_->dispatcher, [&]() -> AddressInfo {
    if (core_->peer.empty()) return AddressInfo{};
    // ICE: where the session's datagrams go now (the nominated address).
    auto ep = core_->endpoint.lock();
    if (!core_->ended && ep && ep->udp)
      return info(ep->udp->remote_of(core_->peer));
    return info(core_->peer);
  });
}

IceCredentials Session::ice_credentials() const {
  if (!core_) return {};
  return on_loop(core_->dispatcher, [&] { return core_->ice; });
}

std::string Session::protocol() const {
  return read_association(core_, std::string(),
                          [](DtlsAssociation& a) { return a.protocol(); });
}
std::optional<CipherInfo> Session::cipher() const {
  return read_association(core_, std::optional<CipherInfo>(),
                          [](DtlsAssociation& a) { return a.cipher(); });
}
std::optional<certs::Certificate> Session::peer_certificate() const {
  return read_association(
      core_, std::optional<certs::Certificate>(),
      [](DtlsAssociation& a) { return a.peer_certificate(); });
}
std::string Session::alpn_protocol() const {
  return read_association(core_, std::string(),
                          [](DtlsAssociation& a) { return a.alpn_protocol(); });
}
std::string Session::srtp_profile() const {
  return read_association(core_, std::string(),
                          [](DtlsAssociation& a) { return a.srtp_profile(); });
}

Result<std::vector<std::uint8_t>> Session::export_keying_material(
    size_t length, std::string_view label,
    std::optional<std::span<const std::uint8_t>> context) const {
  if (!core_) return empty_handle("Session");
  return read_association(core_, Result<std::vector<std::uint8_t>>(destroyed()),
                          [&](DtlsAssociation& a) {
                            return a.export_keying_material(length, label,
                                                            context);
                          });
}

SessionStats Session::stats() const {
  if (!core_) return {};
  return on_loop(core_->dispatcher, [&]() -> SessionStats {
    if (auto* a = core_->association()) {
      auto ep = core_->endpoint.lock();
      return core_->live_stats(*a, ep->udp->media_counters(core_->peer));
    }
    if (core_->resolving) {
      SessionStats s;
      s.created_at = core_->created_at;
      return s;
    }
    return core_->snapshot;
  });
}

bool Session::is_session_reused() const {
  return read_association(
      core_, false, [](DtlsAssociation& a) { return a.is_session_reused(); });
}
std::vector<std::uint8_t> Session::session() const {
  return read_association(core_, std::vector<std::uint8_t>(),
                          [](DtlsAssociation& a) { return a.session(); });
}
std::vector<std::uint8_t> Session::tls_ticket() const {
  return read_association(core_, std::vector<std::uint8_t>(),
                          [](DtlsAssociation& a) { return a.tls_ticket(); });
}
std::vector<std::uint8_t> Session::finished() const {
  return read_association(core_, std::vector<std::uint8_t>(),
                          [](DtlsAssociation& a) { return a.finished(); });
}
std::vector<std::uint8_t> Session::peer_finished() const {
  return read_association(core_, std::vector<std::uint8_t>(),
                          [](DtlsAssociation& a) { return a.peer_finished(); });
}
std::vector<std::string> Session::shared_sigalgs() const {
  return read_association(
      core_, std::vector<std::string>(),
      [](DtlsAssociation& a) { return a.shared_sigalgs(); });
}
std::optional<EphemeralKeyInfo> Session::ephemeral_key_info() const {
  return read_association(
      core_, std::optional<EphemeralKeyInfo>(),
      [](DtlsAssociation& a) { return a.ephemeral_key_info(); });
}
bool Session::authorized() const {
  return read_association(core_, false,
                          [](DtlsAssociation& a) { return a.authorized(); });
}
std::string Session::authorization_error() const {
  return read_association(core_, std::string(), [](DtlsAssociation& a) {
    return a.authorization_error();
  });
}
bool Session::set_max_send_fragment(size_t size) {
  return read_association(core_, false, [&](DtlsAssociation& a) {
    return a.set_max_send_fragment(size);
  });
}
std::string Session::servername() const {
  return read_association(core_, std::string(),
                          [](DtlsAssociation& a) { return a.servername(); });
}
std::optional<certs::Certificate> Session::certificate() const {
  return read_association(core_, std::optional<certs::Certificate>(),
                          [](DtlsAssociation& a) { return a.certificate(); });
}

// ---- Endpoint

Status Endpoint::set_secure_context(SecureContext context) {
  if (!core_) return empty_handle("Endpoint");
  auto ctx = SecureContextAccess::get(context);
  if (!ctx) return invalid_argument("set_secure_context needs a SecureContext");
  return on_loop(core_->dispatcher, [&]() -> Status {
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
  return on_loop(core_->dispatcher, [&]() -> std::vector<std::uint8_t> {
    if (!core_->udp) return {};
    auto k = core_->udp->context()->ticket_keys().get();
    return {k.begin(), k.end()};
  });
}

Status Endpoint::set_ticket_keys(std::span<const std::uint8_t> keys) {
  if (!core_) return empty_handle("Endpoint");
  return on_loop(core_->dispatcher, [&]() -> Status {
    if (Status st = core_->check_bound(); !st.ok()) return st;
    return core_->udp->context()->ticket_keys().set(keys);
  });
}

AddressInfo Endpoint::address() const {
  if (!core_) return {};
  return on_loop(core_->dispatcher, [&] {
    return core_->udp ? info(core_->udp->local_address()) : AddressInfo{};
  });
}

EndpointState Endpoint::state() const {
  if (!core_) return {};
  return on_loop(core_->dispatcher, [&] {
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
  return on_loop(core_->dispatcher, [&] {
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
  int bytes = -1;
  if (core_) {
    on_loop(core_->dispatcher, [&] {
      if (core_->udp && !core_->udp->closing()) {
        bytes = receive ? core_->udp->receive_buffer_size()
                        : core_->udp->send_buffer_size();
      }
    });
  }
  if (bytes < 0) {
    return make_error("ERR_SOCKET_BUFFER_SIZE",
                      "the endpoint's socket is not open");
  }
  return bytes;
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
  return on_loop(core_->dispatcher,
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
  return on_loop(core_->dispatcher, [&]() -> Result<Session> {
    auto sc =
        std::make_shared<SessionImpl>(core_, PeerAddress(), core_->dispatcher);
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
  return on_loop(core_->dispatcher, [&]() -> Status {
    return core_->bind_listening(std::move(*plan),
                                 session_installer(std::move(listener)));
  });
}

Result<Endpoint> Endpoint::create(uv_loop_t* loop) {
  if (loop == nullptr) return invalid_argument("no loop");
  return detail::Handles::endpoint(
      std::make_shared<EndpointImpl>(loop, nullptr));
}

Result<Endpoint> Endpoint::create(EventLoop& loop) {
  return loop.dispatcher()->call([&]() -> Result<Endpoint> {
    return detail::Handles::endpoint(
        std::make_shared<EndpointImpl>(loop.uv(), loop.dispatcher()));
  });
}

Result<Session> Endpoint::add_ice_session(IceSessionConfig config,
                                          SessionListener listener) {
  if (!core_) return empty_handle("Endpoint");
  const bool dtls_client = config.dtls_client;
  auto translated = detail::translate_ice_session(std::move(config));
  if (!translated.ok()) return translated.error();
  IceSessionOptions& o = *translated;
  return on_loop(core_->dispatcher, [&]() -> Result<Session> {
    if (Status st = core_->check_bound(); !st.ok()) return st.error();
    auto pins = std::move(o.association.peer_fingerprints);
    o.association = core_->ice_association;
    o.association.peer_fingerprints = std::move(pins);
    const IceCredentials local = o.local;
    if (Status st = core_->udp->add_ice_session(std::move(o)); !st.ok())
      return st.error();
    auto sc =
        std::make_shared<SessionImpl>(core_, PeerAddress(), core_->dispatcher);
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
