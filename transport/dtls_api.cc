#include "transport/dtls_api.h"

#include <atomic>
#include <memory>
#include <unordered_map>

#include "transport/eventual.h"
#include "transport/host_resolution.h"
#include "transport/option_translation.h"
#include "transport/srtp_keying.h"
#include "transport/udp_endpoint.h"

namespace dtls {
namespace {

using detail::invalid_argument;

std::atomic<bool> g_network_allowed{true};

Error destroyed() {
  return make_error("ERR_DTLS_SESSION_DESTROYED", "the session has ended");
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

Error access_denied() {
  return make_error(
      "ERR_ACCESS_DENIED",
      "Access to this API has been restricted: network use is not permitted");
}

}  // namespace

void NetworkPolicy::set_allowed(bool allowed) { g_network_allowed = allowed; }
bool NetworkPolicy::allowed() { return g_network_allowed; }

namespace detail {

struct SessionCore {
  SessionCore(std::weak_ptr<EndpointCore> ep, PeerAddress p,
              std::shared_ptr<LoopDispatcher> d)
      : dispatcher(std::move(d)), endpoint(std::move(ep)), peer(std::move(p)) {}

  const std::shared_ptr<LoopDispatcher> dispatcher;  // null: caller's loop
  std::weak_ptr<EndpointCore> endpoint;
  PeerAddress peer;  // empty while the host name is being resolved
  bool resolving = false;
  // An ICE session waiting for its first check (no association yet).
  bool ice_waiting = false;
  IceCredentials ice;
  TimePoint created_at = Clock::now();
  std::function<void(std::span<const std::uint8_t>)> on_message;
  std::function<void(const Error&)> on_error;
  std::function<void(const std::string&)> on_handshake;
  std::function<void(std::string_view)> on_keylog;
  std::function<void(std::span<const std::uint8_t>)> on_rtp;
  std::function<void(std::span<const std::uint8_t>)> on_rtcp;
  std::function<void()> on_drain;
  std::function<void(std::span<const std::uint8_t>)> on_session;
  bool is_client = false;
  Eventual<Result<std::string>> opened;
  Eventual<Status> closed;
  std::optional<Error> end_error;  // what ended it, if anything did
  bool ended = false;
  std::optional<TimePoint> closing_at;
  SessionStats snapshot;

  DtlsAssociation* association() const;

  void fail(const Error& e) {
    if (!end_error) end_error = e;
    opened.settle(e);
    if (on_error) on_error(e);
  }
  // The end, from whichever path: the snapshot is taken by the caller.
  void finish() {
    ended = true;
    resolving = false;
    ice_waiting = false;
    snapshot.is_connected = false;
    snapshot.destroyed_at = Clock::now();
    opened.settle(make_error("ERR_DTLS_SESSION_CLOSED",
                             "closed before the handshake completed"));
    closed.settle(end_error ? Status(*end_error) : Status());
    release_callbacks();
  }
  // Ends a session that never got an association (its name was still being
  // resolved).
  void finish_unattached(std::optional<Error> error) {
    if (ended) return;
    snapshot.created_at = created_at;
    if (error) fail(*error);
    finish();
  }
  // An ended session drops every callback: callbacks commonly capture a Session
  // handle (to reply), which would otherwise keep this core alive through
  // itself forever.
  void release_callbacks() {
    on_message = nullptr;
    on_error = nullptr;
    on_handshake = nullptr;
    on_keylog = nullptr;
    on_rtp = nullptr;
    on_rtcp = nullptr;
    on_drain = nullptr;
    on_session = nullptr;
    opened.drop_callbacks();
    closed.drop_callbacks();
  }
  SessionStats live_stats(const DtlsAssociation& a,
                          const srtp::MediaCounters* media) const {
    const AssociationStats& s = a.stats();
    SessionStats out;
    if (media) out.media = *media;
    out.created_at = s.created_at;
    out.handshake_completed_at = s.handshake_completed_at;
    out.closing_at = closing_at;
    out.bytes_received = s.bytes_received;
    out.bytes_sent = s.bytes_sent;
    out.messages_received = s.messages_received;
    out.messages_sent = s.messages_sent;
    out.retransmit_count = s.retransmit_count;
    out.smoothed_rtt = s.smoothed_rtt;
    out.record_drops = s.record_drops;
    out.is_connected = true;
    return out;
  }

  void close_now();
  void destroy_now(std::optional<Error> error);
  void end_ice_wait(std::optional<Error> error);
};

struct EndpointCore : std::enable_shared_from_this<EndpointCore> {
  explicit EndpointCore(std::shared_ptr<LoopDispatcher> d)
      : dispatcher(std::move(d)) {}

  const std::shared_ptr<LoopDispatcher> dispatcher;  // null: caller's loop
  std::shared_ptr<UdpEndpoint> udp;
  std::unordered_map<PeerAddress, std::shared_ptr<SessionCore>, PeerAddressHash>
      sessions;
  // ICE sessions before their association exists, by local ufrag.
  std::unordered_map<std::string, std::shared_ptr<SessionCore>> ice_pending;
  AssociationOptions ice_association;  // the base for ICE sessions
  std::function<void(Session)> on_session;
  std::function<void()> on_drain;
  bool listening = false;
  bool single_session = false;  // made by connect(): closes with its session
  bool ended = false;
  std::optional<Error> destroy_error;
  TimePoint created_at = Clock::now();
  EndpointStats snapshot;
  Eventual<Status> closed;

  UdpEndpoint::Callbacks callbacks() {
    // The callbacks hold the core: it lives as long as the socket, whoever
    // holds handles.
    auto self = shared_from_this();
    return {[self](const PeerAddress& p) { self->handle_session(p); },
            [self](const PeerAddress& p, const DtlsEvent& e) {
              self->handle_event(p, e);
            },
            [self](const PeerAddress& p, const DtlsAssociation& a,
                   const srtp::MediaCounters& m) {
              self->handle_finished(p, a, m);
            },
            [self] { self->handle_closed(); },
            [self](const PeerAddress& p, PacketKind kind,
                   std::span<const std::uint8_t> packet) {
              self->handle_media(p, kind, packet);
            },
            [self](const std::string& ufrag, const IceEvent& e) {
              self->handle_ice(ufrag, e);
            },
            [self] { self->handle_drain(); }};
  }

  // The socket's send queue emptied after it refused datagrams: the
  // endpoint's callback, then those of the sessions on that socket. Copies
  // are called, so a callback may replace itself.
  void handle_drain() {
    if (auto cb = on_drain) cb();
    std::vector<std::shared_ptr<SessionCore>> listening_sessions;
    for (const auto& [peer, s] : sessions) {
      if (s->on_drain) listening_sessions.push_back(s);
    }
    for (const auto& s : listening_sessions) {
      if (auto cb = s->on_drain; cb && !s->ended) cb();
    }
  }

  void handle_ice(const std::string& ufrag, const IceEvent& e) {
    auto it = ice_pending.find(ufrag);
    if (it == ice_pending.end()) return;
    std::shared_ptr<SessionCore> s = it->second;
    if (e.type == IceEvent::Type::kSessionStarted) {
      ice_pending.erase(it);
      s->ice_waiting = false;
      s->peer = e.address;
      sessions[e.address] = s;
    } else if (e.type == IceEvent::Type::kFailed) {
      ice_pending.erase(it);
      s->finish_unattached(e.error);
    }
  }

  std::shared_ptr<SessionCore> add_session(const PeerAddress& p) {
    auto s = std::make_shared<SessionCore>(weak_from_this(), p, dispatcher);
    sessions[p] = s;
    return s;
  }

  void handle_session(const PeerAddress& p) {
    Session handle;
    handle.core_ = add_session(p);
    if (on_session) on_session(handle);
  }

  void handle_event(const PeerAddress& p, const DtlsEvent& e) {
    auto it = sessions.find(p);
    if (it == sessions.end()) return;
    std::shared_ptr<SessionCore> s = it->second;
    switch (e.type) {
      case DtlsEvent::Type::kHandshakeComplete: {
        DtlsAssociation* a = udp ? udp->association(p) : nullptr;
        std::string protocol = a ? a->protocol() : "";
        s->opened.settle(protocol);
        if (s->on_handshake) s->on_handshake(protocol);
        break;
      }
      case DtlsEvent::Type::kData:
        if (s->on_message) s->on_message(e.data);
        break;
      case DtlsEvent::Type::kKeylog:
        if (s->on_keylog) {
          s->on_keylog(std::string_view(
              reinterpret_cast<const char*>(e.data.data()), e.data.size()));
        }
        break;
      case DtlsEvent::Type::kError:
        s->fail(e.error);
        break;
      case DtlsEvent::Type::kSession:
        if (s->on_session) s->on_session(e.data);
        break;
      case DtlsEvent::Type::kClosed:
        break;  // handle_finished follows
    }
  }

  void handle_media(const PeerAddress& p, PacketKind kind,
                    std::span<const std::uint8_t> packet) {
    auto it = sessions.find(p);
    if (it == sessions.end()) return;
    auto& cb =
        kind == PacketKind::kRtp ? it->second->on_rtp : it->second->on_rtcp;
    if (cb) cb(packet);
  }

  void handle_finished(const PeerAddress& p, const DtlsAssociation& a,
                       const srtp::MediaCounters& media) {
    auto it = sessions.find(p);
    if (it == sessions.end()) return;
    std::shared_ptr<SessionCore> s = it->second;
    sessions.erase(it);
    s->snapshot = s->live_stats(a, &media);
    s->finish();
    if (single_session && udp && !udp->closing()) udp->close();
  }

  void handle_closed() {
    // Sessions still here when the socket went end with it.
    auto left = std::move(sessions);
    sessions.clear();
    auto waiting = std::move(ice_pending);
    ice_pending.clear();
    for (auto& [ufrag, s] : waiting) {
      s->finish_unattached(destroy_error.value_or(
          make_error("ERR_DTLS_SESSION_CLOSED", "the endpoint closed")));
    }
    for (auto& [p, s] : left) {
      s->fail(destroy_error.value_or(
          make_error("ERR_DTLS_SESSION_CLOSED", "the endpoint closed")));
      s->finish();
    }
    if (udp) snapshot = live_stats();
    snapshot.is_connected = false;
    snapshot.destroyed_at = Clock::now();
    ended = true;
    closed.settle(destroy_error ? Status(*destroy_error) : Status());
    // They may hold an Endpoint handle: no cycle after the end.
    on_session = nullptr;
    on_drain = nullptr;
    closed.drop_callbacks();
    udp.reset();  // UdpEndpoint's close callback still holds it until it
                  // returns
  }

  // EventLoop::stop(), or the last Endpoint handle dropped.
  void close_now() {
    if (udp) udp->close();
  }

  EndpointStats live_stats() const {
    const UdpEndpointStats& s = udp->stats();
    EndpointStats out;
    out.created_at = created_at;
    out.bytes_received = s.bytes_received;
    out.bytes_sent = s.bytes_sent;
    out.packets_received = s.packets_received;
    out.packets_sent = s.packets_sent;
    out.server_sessions = s.server_sessions;
    out.client_sessions = s.client_sessions;
    out.server_busy_count = s.server_busy_count;
    out.record_drops = s.record_drops;
    out.half_open = udp->half_open_count();
    out.half_open_evicted = s.half_open_evicted;
    out.half_open_expired = s.half_open_expired;
    out.half_open_refused = s.half_open_refused;
    out.is_connected = true;
    return out;
  }
};

DtlsAssociation* SessionCore::association() const {
  auto ep = endpoint.lock();
  if (ended || !ep || !ep->udp) return nullptr;
  return ep->udp->association(peer);
}

void SessionCore::close_now() {
  if (ended) return;
  if (!closing_at) closing_at = Clock::now();
  if (ice_waiting) {
    end_ice_wait(std::nullopt);
    return;
  }
  if (resolving) {
    finish_unattached(std::nullopt);
    return;
  }
  if (auto ep = endpoint.lock(); ep && ep->udp) ep->udp->close_session(peer);
}

void SessionCore::end_ice_wait(std::optional<Error> error) {
  if (auto ep = endpoint.lock()) {
    ep->ice_pending.erase(ice.ufrag);
    if (ep->udp) ep->udp->remove_ice_session(ice.ufrag);
  }
  finish_unattached(std::move(error));
}

void SessionCore::destroy_now(std::optional<Error> error) {
  if (ended) return;
  if (ice_waiting) {
    end_ice_wait(std::move(error));
    return;
  }
  if (resolving) {
    finish_unattached(std::move(error));
    return;
  }
  if (auto ep = endpoint.lock(); ep && ep->udp)
    ep->udp->destroy_session(peer, std::move(error));
}

}  // namespace detail

namespace {

// Opens the socket of a connect() endpoint and starts the handshake to
// `remote`; the session core is keyed by it from here on.
Status start_client(uv_loop_t* loop, detail::EndpointCore& core,
                    const std::shared_ptr<detail::SessionCore>& session,
                    const PeerAddress& remote,
                    const detail::ConnectPlan& plan) {
  auto bind = detail::client_bind_address(plan, remote);
  if (!bind.ok()) return bind.error();
  auto udp = UdpEndpoint::open(loop, *bind, plan.endpoint, core.callbacks());
  if (!udp.ok()) return udp.error();
  core.udp = std::move(udp).value();
  session->peer = remote;
  core.sessions[remote] = session;
  if (Status s = core.udp->connect(remote, plan.association); !s.ok()) {
    core.sessions.erase(remote);
    core.udp->destroy();
    return s;
  }
  return {};
}

}  // namespace

// Reads one property of the live association (`fallback` once it has ended).
template <class T, class F>
T read_association(const std::shared_ptr<detail::SessionCore>& core, T fallback,
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
Result<size_t> send_on_socket(const std::shared_ptr<detail::SessionCore>& core,
                              F&& send) {
  if (!core) return invalid_argument("an empty Session handle");
  return on_loop(core->dispatcher, [&]() -> Result<size_t> {
    if (core->resolving) {
      return make_error("ERR_DTLS_SESSION_NOT_OPEN",
                        "the handshake has not started (resolving the host)");
    }
    auto ep = core->endpoint.lock();
    if (core->ended || !ep || !ep->udp) return destroyed();
    return send(*ep->udp, core->peer);
  });
}

// ---- Session

Result<size_t> Session::send(std::span<const std::uint8_t> data) {
  return send_on_socket(core_, [&](UdpEndpoint& udp, const PeerAddress& peer) {
    return udp.send(peer, data);
  });
}

Result<size_t> Session::send(std::string_view text) {
  return send(
      {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

namespace {

Result<size_t> send_media(const std::shared_ptr<detail::SessionCore>& core,
                          PacketKind kind,
                          std::span<const std::uint8_t> packet) {
  return send_on_socket(core, [&](UdpEndpoint& udp, const PeerAddress& peer) {
    return udp.send_media(peer, kind, packet);
  });
}

}  // namespace

Result<size_t> Session::send_rtp(std::span<const std::uint8_t> packet) {
  return send_media(core_, PacketKind::kRtp, packet);
}

Result<size_t> Session::send_rtcp(std::span<const std::uint8_t> packet) {
  return send_media(core_, PacketKind::kRtcp, packet);
}

namespace {

// The socket a session sends on (loop thread), or null once it is gone.
UdpEndpoint* socket_of(const std::shared_ptr<detail::SessionCore>& core) {
  auto ep = core->endpoint.lock();
  return ep ? ep->udp.get() : nullptr;
}

// Corks or uncorks the socket under a session or an endpoint.
void cork_socket(const std::shared_ptr<LoopDispatcher>& dispatcher,
                 const std::function<UdpEndpoint*()>& udp, bool cork) {
  on_loop(dispatcher, [&] {
    if (UdpEndpoint* u = udp()) cork ? u->cork() : u->uncork();
  });
}

}  // namespace

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
  if (!core_) return;
  on_loop(core_->dispatcher, [&] {
    if (!core_->ended) core_->on_drain = std::move(cb);
  });
}

void Session::on_rtp(std::function<void(std::span<const std::uint8_t>)> cb) {
  if (!core_) return;
  on_loop(core_->dispatcher, [&] {
    if (!core_->ended) core_->on_rtp = std::move(cb);
  });
}

void Session::on_rtcp(std::function<void(std::span<const std::uint8_t>)> cb) {
  if (!core_) return;
  on_loop(core_->dispatcher, [&] {
    if (!core_->ended) core_->on_rtcp = std::move(cb);
  });
}

Result<srtp::SrtpKeys> Session::srtp_keys() const {
  return read_association(
      core_, Result<srtp::SrtpKeys>(destroyed()),
      [](DtlsAssociation& a) { return export_srtp_keys(a); });
}

srtp::Side Session::srtp_side() const {
  return core_ && core_->is_client ? srtp::Side::kClient : srtp::Side::kServer;
}

void Session::close() {
  if (core_) on_loop(core_->dispatcher, [&] { core_->close_now(); });
}

void Session::destroy(std::optional<Error> error) {
  if (core_) {
    on_loop(core_->dispatcher, [&] { core_->destroy_now(std::move(error)); });
  }
}

void Session::on_message(
    std::function<void(std::span<const std::uint8_t>)> cb) {
  if (!core_) return;
  on_loop(core_->dispatcher, [&] {
    if (!core_->ended) core_->on_message = std::move(cb);
  });
}
void Session::on_error(std::function<void(const Error&)> cb) {
  if (!core_) return;
  on_loop(core_->dispatcher, [&] {
    if (!core_->ended) core_->on_error = std::move(cb);
  });
}
void Session::on_handshake(std::function<void(const std::string&)> cb) {
  if (!core_) return;
  on_loop(core_->dispatcher, [&] {
    if (!core_->ended) core_->on_handshake = std::move(cb);
  });
}
void Session::on_keylog(std::function<void(std::string_view)> cb) {
  if (!core_) return;
  on_loop(core_->dispatcher, [&] {
    if (!core_->ended) core_->on_keylog = std::move(cb);
  });
}
void Session::on_opened(std::function<void(const Result<std::string>&)> cb) {
  if (!core_) return;
  // Settled already: called at once (on the loop thread, like every callback).
  on_loop(core_->dispatcher, [&] { core_->opened.then(std::move(cb)); });
}
void Session::on_closed(std::function<void(const Status&)> cb) {
  if (!core_) return;
  on_loop(core_->dispatcher, [&] { core_->closed.then(std::move(cb)); });
}

std::shared_future<Result<std::string>> Session::opened() const {
  return core_->opened.future();
}
std::shared_future<Status> Session::closed() const {
  return core_->closed.future();
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

void Session::on_session(
    std::function<void(std::span<const std::uint8_t>)> cb) {
  if (!core_) return;
  on_loop(core_->dispatcher, [&] {
    if (!core_->ended) core_->on_session = std::move(cb);
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
  if (!core_) return make_error("ERR_INVALID_STATE", "an empty Endpoint");
  auto ctx = SecureContextAccess::get(context);
  if (!ctx) return invalid_argument("set_secure_context needs a SecureContext");
  return on_loop(core_->dispatcher, [&]() -> Status {
    if (!core_->udp || core_->ended)
      return make_error("ERR_INVALID_STATE", "the endpoint has closed");
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
  if (!core_) return make_error("ERR_INVALID_STATE", "an empty Endpoint");
  return on_loop(core_->dispatcher, [&]() -> Status {
    if (!core_->udp || core_->ended)
      return make_error("ERR_INVALID_STATE", "the endpoint has closed");
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
  on_loop(core_->dispatcher, [&] {
    if (core_->udp) core_->udp->set_busy(busy);
  });
}
bool Endpoint::busy() const {
  if (!core_) return false;
  return on_loop(core_->dispatcher,
                 [&] { return core_->udp && core_->udp->busy(); });
}
void Endpoint::close() {
  if (core_) on_loop(core_->dispatcher, [&] { core_->close_now(); });
}
Result<Session> Endpoint::add_ice_session(IceSessionConfig config) {
  if (!core_) return make_error("ERR_INVALID_STATE", "an empty Endpoint");
  const bool dtls_client = config.dtls_client;
  auto translated = detail::translate_ice_session(std::move(config));
  if (!translated.ok()) return translated.error();
  IceSessionOptions& o = *translated;
  return on_loop(core_->dispatcher, [&]() -> Result<Session> {
    if (!core_->udp || core_->ended)
      return make_error("ERR_INVALID_STATE", "the endpoint has closed");
    auto pins = std::move(o.association.peer_fingerprints);
    o.association = core_->ice_association;
    o.association.peer_fingerprints = std::move(pins);
    const IceCredentials local = o.local;
    if (Status st = core_->udp->add_ice_session(std::move(o)); !st.ok())
      return st.error();
    auto sc = std::make_shared<detail::SessionCore>(core_, PeerAddress(),
                                                    core_->dispatcher);
    sc->ice_waiting = true;
    sc->ice = local;
    sc->is_client = dtls_client;
    core_->ice_pending[local.ufrag] = sc;
    Session handle;
    handle.core_ = sc;
    return handle;
  });
}

void Endpoint::destroy(std::optional<Error> error) {
  if (!core_) return;
  on_loop(core_->dispatcher, [&] {
    if (!core_->udp || core_->ended) return;
    if (error && !core_->destroy_error) core_->destroy_error = error;
    core_->udp->destroy(std::move(error));
  });
}
std::shared_future<Status> Endpoint::closed() const {
  return core_->closed.future();
}
void Endpoint::on_drain(std::function<void()> cb) {
  if (!core_) return;
  on_loop(core_->dispatcher, [&] {
    if (!core_->ended) core_->on_drain = std::move(cb);
  });
}

void Endpoint::on_closed(std::function<void(const Status&)> cb) {
  if (!core_) return;
  on_loop(core_->dispatcher, [&] { core_->closed.then(std::move(cb)); });
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
  auto core = std::make_shared<detail::EndpointCore>(dispatcher);
  core->on_session = std::move(on_session);
  core->listening = true;
  core->ice_association = plan->endpoint.server_association;
  auto udp = UdpEndpoint::open(loop, plan->bind, std::move(plan->endpoint),
                               core->callbacks());
  if (!udp.ok()) return udp.error();
  core->udp = std::move(udp).value();
  if (dispatcher) {
    dispatcher->at_stop([weak = std::weak_ptr(core)] {
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

Result<Session> connect_on(uv_loop_t* loop,
                           std::shared_ptr<LoopDispatcher> dispatcher,
                           std::string_view host, std::uint16_t port,
                           ConnectOptions options) {
  if (!NetworkPolicy::allowed()) return access_denied();
  if (loop == nullptr) return invalid_argument("no loop");
  auto plan = detail::translate_connect(host, port, options);
  if (!plan.ok()) return plan.error();
  auto core = std::make_shared<detail::EndpointCore>(dispatcher);
  core->single_session = true;
  auto session_core =
      std::make_shared<detail::SessionCore>(core, PeerAddress(), dispatcher);
  session_core->is_client = true;
  // An IP literal starts now; a name (even "localhost") is looked up first.
  if (auto remote = PeerAddress::parse(host, port); remote.ok()) {
    Status s = start_client(loop, *core, session_core, *remote, *plan);
    if (!s.ok()) return s.error();
  } else {
    session_core->resolving = true;
    Status s = resolve_host(
        loop, std::string(host), port,
        [loop, core, session_core,
         plan = std::move(plan).value()](Result<PeerAddress> remote) {
          if (session_core->ended) return;  // closed or destroyed meanwhile
          session_core->resolving = false;
          if (!remote.ok()) {
            session_core->finish_unattached(remote.error());
            return;
          }
          Status st = start_client(loop, *core, session_core, *remote, plan);
          if (!st.ok()) session_core->finish_unattached(st.error());
        });
    if (!s.ok()) return s.error();
  }
  if (dispatcher) {
    dispatcher->at_stop([weak = std::weak_ptr(session_core)] {
      if (auto s = weak.lock()) s->close_now();
    });
  }
  Session session;
  session.core_ = session_core;
  session.owner_ = std::shared_ptr<void>(nullptr, [session_core](void*) {
    post_to_loop(session_core->dispatcher,
                 [session_core] { session_core->close_now(); });
  });
  return session;
}

Result<Endpoint> listen(uv_loop_t* loop,
                        std::function<void(Session)> on_session,
                        ListenOptions options) {
  return listen_on(loop, nullptr, std::move(on_session), std::move(options));
}

Result<Session> connect(uv_loop_t* loop, std::string_view host,
                        std::uint16_t port, ConnectOptions options) {
  return connect_on(loop, nullptr, host, port, std::move(options));
}

Result<Endpoint> listen(EventLoop& loop,
                        std::function<void(Session)> on_session,
                        ListenOptions options) {
  return loop.dispatcher()->call([&] {
    return listen_on(loop.uv(), loop.dispatcher(), std::move(on_session),
                     std::move(options));
  });
}

Result<Session> connect(EventLoop& loop, std::string_view host,
                        std::uint16_t port, ConnectOptions options) {
  return loop.dispatcher()->call([&] {
    return connect_on(loop.uv(), loop.dispatcher(), host, port,
                      std::move(options));
  });
}

}  // namespace dtls
