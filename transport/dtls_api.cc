#include "transport/dtls_api.h"

#include <netdb.h>

#include <atomic>
#include <unordered_map>

#include "certs/credentials.h"
#include "certs/fingerprint.h"
#include "transport/udp_endpoint.h"

namespace dtls {
namespace {

std::atomic<bool> g_network_allowed{true};

Error invalid(std::string message) {
  return make_error("ERR_INVALID_ARG_VALUE", std::move(message));
}

Error destroyed() {
  return make_error("ERR_DTLS_SESSION_DESTROYED", "the session has ended");
}

AddressInfo info(const PeerAddress& a) {
  return {a.ip(), a.family(), a.port()};
}

// A literal address, "localhost", or a name resolved now (getaddrinfo blocks
// the calling thread; asynchronous resolution on the loop is still to come).
Result<PeerAddress> resolve(std::string_view host, std::uint16_t port,
                            bool prefer_v6 = false) {
  if (host == "localhost") host = prefer_v6 ? "::1" : "127.0.0.1";
  auto literal = PeerAddress::parse(host, port);
  if (literal.ok()) return literal;
  addrinfo hints{};
  hints.ai_socktype = SOCK_DGRAM;
  hints.ai_flags = AI_ADDRCONFIG;
  addrinfo* res = nullptr;
  std::string h(host);
  if (getaddrinfo(h.c_str(), nullptr, &hints, &res) != 0 || res == nullptr) {
    return make_error("ERR_DTLS_HOST_NOT_FOUND", "cannot resolve '" + h + "'");
  }
  PeerAddress a = PeerAddress::from_sockaddr(res->ai_addr);
  freeaddrinfo(res);
  return PeerAddress::parse(a.ip(), port);
}

struct Built {
  std::shared_ptr<const DtlsContext> context;
  AssociationOptions association;
};

Result<Built> build(const SecureOptions& o, bool server) {
  DtlsContextOptions co;
  if (o.cert.empty() != o.key.empty()) {
    return invalid(o.cert.empty() ? "key is given without cert"
                                  : "cert is given without key");
  }
  if (server && o.cert.empty()) return invalid("listen needs cert and key");
  if (!o.cert.empty()) {
    certs::LoadOptions lo;
    lo.passphrase = o.passphrase;
    auto creds = certs::load_pem_credentials(o.cert, o.key, lo);
    if (!creds.ok()) return creds.error();
    co.credentials = std::move(creds).value();
  }
  auto ca = certs::load_ca_list(o.ca);
  if (!ca.ok()) return ca.error();
  co.ca = std::move(ca).value();
  co.ciphers = o.ciphers;
  co.alpn_protocols = o.alpn;
  co.srtp_profiles = o.srtp;
  co.require_srtp = o.require_srtp;
  AssociationOptions ao;
  for (const std::string& f : o.fingerprints) {
    auto fp = certs::Fingerprint::parse_sdp(f);
    if (!fp.ok()) return fp.error();
    ao.peer_fingerprints.push_back(std::move(fp).value());
  }
  ao.reject_unauthorized = o.reject_unauthorized;
  ao.mtu = o.mtu;
  ao.handshake_timeout = o.handshake_timeout;
  ao.keylog = true;  // lines go to on_keylog when one is set
  if (Status s = validate_association_options(ao); !s.ok()) return s.error();
  auto ctx = DtlsContext::create(std::move(co));
  if (!ctx.ok()) return ctx.error();
  return Built{std::move(ctx).value(), std::move(ao)};
}

}  // namespace

void NetworkPolicy::set_allowed(bool allowed) { g_network_allowed = allowed; }
bool NetworkPolicy::allowed() { return g_network_allowed; }

namespace detail {

struct SessionCore {
  SessionCore(std::weak_ptr<EndpointCore> ep, PeerAddress p)
      : endpoint(std::move(ep)),
        peer(std::move(p)),
        opened_future(opened_promise.get_future().share()),
        closed_future(closed_promise.get_future().share()) {}

  std::weak_ptr<EndpointCore> endpoint;
  PeerAddress peer;
  std::function<void(std::span<const std::uint8_t>)> on_message;
  std::function<void(const Error&)> on_error;
  std::function<void(const std::string&)> on_handshake;
  std::function<void(std::string_view)> on_keylog;
  std::vector<std::function<void(const Result<std::string>&)>> opened_callbacks;
  std::vector<std::function<void()>> closed_callbacks;
  std::promise<Result<std::string>> opened_promise;
  std::shared_future<Result<std::string>> opened_future;
  std::promise<void> closed_promise;
  std::shared_future<void> closed_future;
  std::optional<Result<std::string>> opened_result;
  bool closed_done = false;
  bool ended = false;
  std::optional<TimePoint> closing_at;
  SessionStats snapshot;

  DtlsAssociation* association() const;

  void settle_opened(const Result<std::string>& r) {
    if (opened_result) return;
    opened_result = r;
    opened_promise.set_value(r);
    for (auto& cb : opened_callbacks) cb(r);
    opened_callbacks.clear();
  }
  void settle_closed() {
    if (closed_done) return;
    closed_done = true;
    closed_promise.set_value();
    auto callbacks = std::move(closed_callbacks);
    for (auto& cb : callbacks) cb();
    release_callbacks();
  }
  // An ended session drops every callback: callbacks commonly capture a Session
  // handle (to reply), which would otherwise keep this core alive through
  // itself forever.
  void release_callbacks() {
    on_message = nullptr;
    on_error = nullptr;
    on_handshake = nullptr;
    on_keylog = nullptr;
    opened_callbacks.clear();
    closed_callbacks.clear();
  }
  SessionStats live_stats(const DtlsAssociation& a) const {
    const AssociationStats& s = a.stats();
    SessionStats out;
    out.created_at = s.created_at;
    out.handshake_completed_at = s.handshake_completed_at;
    out.closing_at = closing_at;
    out.bytes_received = s.bytes_received;
    out.bytes_sent = s.bytes_sent;
    out.messages_received = s.messages_received;
    out.messages_sent = s.messages_sent;
    out.retransmit_count = s.retransmit_count;
    out.is_connected = true;
    return out;
  }
};

struct EndpointCore : std::enable_shared_from_this<EndpointCore> {
  std::shared_ptr<UdpEndpoint> udp;
  std::unordered_map<PeerAddress, std::shared_ptr<SessionCore>, PeerAddressHash>
      sessions;
  std::function<void(Session)> on_session;
  bool listening = false;
  bool single_session = false;  // made by connect(): closes with its session
  bool ended = false;
  TimePoint created_at = Clock::now();
  EndpointStats snapshot;
  std::promise<void> closed_promise;
  std::shared_future<void> closed_future = closed_promise.get_future().share();
  std::vector<std::function<void()>> closed_callbacks;

  UdpEndpoint::Callbacks callbacks() {
    // The callbacks hold the core: it lives as long as the socket, whoever
    // holds handles.
    auto self = shared_from_this();
    return {[self](const PeerAddress& p) { self->handle_session(p); },
            [self](const PeerAddress& p, const DtlsEvent& e) {
              self->handle_event(p, e);
            },
            [self](const PeerAddress& p, const DtlsAssociation& a) {
              self->handle_finished(p, a);
            },
            [self] { self->handle_closed(); }};
  }

  std::shared_ptr<SessionCore> add_session(const PeerAddress& p) {
    auto s = std::make_shared<SessionCore>(weak_from_this(), p);
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
        s->settle_opened(protocol);
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
        s->settle_opened(e.error);
        if (s->on_error) s->on_error(e.error);
        break;
      case DtlsEvent::Type::kClosed:
        break;  // handle_finished follows
    }
  }

  void handle_finished(const PeerAddress& p, const DtlsAssociation& a) {
    auto it = sessions.find(p);
    if (it == sessions.end()) return;
    std::shared_ptr<SessionCore> s = it->second;
    sessions.erase(it);
    s->snapshot = s->live_stats(a);
    s->snapshot.is_connected = false;
    s->snapshot.destroyed_at = Clock::now();
    s->ended = true;
    s->settle_opened(make_error("ERR_DTLS_SESSION_CLOSED",
                                "closed before the handshake completed"));
    s->settle_closed();
    if (single_session && udp && !udp->closing()) udp->close();
  }

  void handle_closed() {
    // Sessions still open when the socket went (destroy) end here.
    for (auto& [p, s] : sessions) {
      s->ended = true;
      s->snapshot.is_connected = false;
      s->snapshot.destroyed_at = Clock::now();
      s->settle_opened(
          make_error("ERR_DTLS_SESSION_CLOSED", "the endpoint closed"));
      s->settle_closed();
    }
    sessions.clear();
    if (udp) snapshot = live_stats();
    snapshot.is_connected = false;
    snapshot.destroyed_at = Clock::now();
    ended = true;
    closed_promise.set_value();
    auto callbacks = std::move(closed_callbacks);
    for (auto& cb : callbacks) cb();
    on_session =
        nullptr;  // it may hold an Endpoint handle: no cycle after the end
    udp.reset();  // UdpEndpoint's close callback still holds it until it
                  // returns
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
    out.is_connected = true;
    return out;
  }
};

DtlsAssociation* SessionCore::association() const {
  auto ep = endpoint.lock();
  if (ended || !ep || !ep->udp) return nullptr;
  return ep->udp->association(peer);
}

}  // namespace detail

// ---- Session

Result<size_t> Session::send(std::span<const std::uint8_t> data) {
  if (!core_) return invalid("an empty Session handle");
  auto ep = core_->endpoint.lock();
  if (core_->ended || !ep || !ep->udp) return destroyed();
  return ep->udp->send(core_->peer, data);
}

Result<size_t> Session::send(std::string_view text) {
  return send(
      {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()});
}

void Session::close() {
  if (!core_ || core_->ended) return;
  if (!core_->closing_at) core_->closing_at = Clock::now();
  if (auto ep = core_->endpoint.lock(); ep && ep->udp)
    ep->udp->close_session(core_->peer);
}

void Session::destroy() {
  if (!core_ || core_->ended) return;
  if (auto ep = core_->endpoint.lock(); ep && ep->udp)
    ep->udp->destroy_session(core_->peer);
}

void Session::on_message(
    std::function<void(std::span<const std::uint8_t>)> cb) {
  if (core_) core_->on_message = std::move(cb);
}
void Session::on_error(std::function<void(const Error&)> cb) {
  if (core_) core_->on_error = std::move(cb);
}
void Session::on_handshake(std::function<void(const std::string&)> cb) {
  if (core_) core_->on_handshake = std::move(cb);
}
void Session::on_keylog(std::function<void(std::string_view)> cb) {
  if (core_) core_->on_keylog = std::move(cb);
}
void Session::on_opened(std::function<void(const Result<std::string>&)> cb) {
  if (!core_) return;
  if (core_->opened_result) {
    cb(*core_->opened_result);
  } else {
    core_->opened_callbacks.push_back(std::move(cb));
  }
}
void Session::on_closed(std::function<void()> cb) {
  if (!core_) return;
  if (core_->closed_done) {
    cb();
  } else {
    core_->closed_callbacks.push_back(std::move(cb));
  }
}

std::shared_future<Result<std::string>> Session::opened() const {
  return core_->opened_future;
}
std::shared_future<void> Session::closed() const {
  return core_->closed_future;
}

AddressInfo Session::remote_address() const {
  return core_ ? info(core_->peer) : AddressInfo{};
}

std::string Session::protocol() const {
  auto* a = core_ ? core_->association() : nullptr;
  return a ? a->protocol() : "";
}
std::optional<CipherInfo> Session::cipher() const {
  auto* a = core_ ? core_->association() : nullptr;
  return a ? a->cipher() : std::nullopt;
}
std::optional<certs::Certificate> Session::peer_certificate() const {
  auto* a = core_ ? core_->association() : nullptr;
  return a ? a->peer_certificate() : std::nullopt;
}
std::string Session::alpn_protocol() const {
  auto* a = core_ ? core_->association() : nullptr;
  return a ? a->alpn_protocol() : "";
}
std::string Session::srtp_profile() const {
  auto* a = core_ ? core_->association() : nullptr;
  return a ? a->srtp_profile() : "";
}

Result<std::vector<std::uint8_t>> Session::export_keying_material(
    size_t length, std::string_view label,
    std::optional<std::span<const std::uint8_t>> context) const {
  auto* a = core_ ? core_->association() : nullptr;
  if (a == nullptr) return destroyed();
  return a->export_keying_material(length, label, context);
}

SessionStats Session::stats() const {
  if (!core_) return {};
  if (auto* a = core_->association()) return core_->live_stats(*a);
  return core_->snapshot;
}

// ---- Endpoint

AddressInfo Endpoint::address() const {
  return core_ && core_->udp ? info(core_->udp->local_address())
                             : AddressInfo{};
}

EndpointState Endpoint::state() const {
  EndpointState s;
  if (!core_) return s;
  s.destroyed = core_->ended;
  s.bound = core_->udp != nullptr;
  s.closing = core_->udp && core_->udp->closing();
  s.listening = core_->listening && s.bound && !s.closing;
  s.session_count = core_->sessions.size();
  return s;
}

EndpointStats Endpoint::stats() const {
  if (!core_) return {};
  return core_->udp ? core_->live_stats() : core_->snapshot;
}

void Endpoint::set_busy(bool busy) {
  if (core_ && core_->udp) core_->udp->set_busy(busy);
}
bool Endpoint::busy() const {
  return core_ && core_->udp && core_->udp->busy();
}
void Endpoint::close() {
  if (core_ && core_->udp) core_->udp->close();
}
void Endpoint::destroy() {
  if (core_ && core_->udp) core_->udp->destroy();
}
std::shared_future<void> Endpoint::closed() const {
  return core_->closed_future;
}
void Endpoint::on_closed(std::function<void()> cb) {
  if (!core_) return;
  if (core_->ended) {
    cb();
  } else {
    core_->closed_callbacks.push_back(std::move(cb));
  }
}

// ---- listen / connect

Result<Endpoint> listen(uv_loop_t* loop,
                        std::function<void(Session)> on_session,
                        ListenOptions options) {
  if (!NetworkPolicy::allowed()) {
    return make_error(
        "ERR_ACCESS_DENIED",
        "Access to this API has been restricted: network use is not permitted");
  }
  if (loop == nullptr) return invalid("no loop");
  if (!options.port) return invalid("listen needs a port (0 picks a free one)");
  if (options.max_sessions == 0)
    return make_error("ERR_OUT_OF_RANGE", "max_sessions must be >= 1");
  auto built = build(options, /*server=*/true);
  if (!built.ok()) return built.error();
  auto bind = resolve(options.host, *options.port);
  if (!bind.ok()) return bind.error();
  built->association.request_cert = options.request_cert;
  auto core = std::make_shared<detail::EndpointCore>();
  core->on_session = std::move(on_session);
  core->listening = true;
  UdpEndpointOptions uo;
  uo.context = built->context;
  uo.server_association = built->association;
  uo.accept_incoming = true;
  uo.max_sessions = options.max_sessions;
  auto udp = UdpEndpoint::open(loop, *bind, uo, core->callbacks());
  if (!udp.ok()) return udp.error();
  core->udp = std::move(udp).value();
  Endpoint e;
  e.core_ = core;
  // [Symbol.asyncDispose]: the last handle's drop closes gracefully.
  e.owner_ = std::shared_ptr<void>(nullptr, [core](void*) {
    if (core->udp) core->udp->close();
  });
  return e;
}

Result<Session> connect(uv_loop_t* loop, std::string_view host,
                        std::uint16_t port, ConnectOptions options) {
  if (!NetworkPolicy::allowed()) {
    return make_error(
        "ERR_ACCESS_DENIED",
        "Access to this API has been restricted: network use is not permitted");
  }
  if (loop == nullptr) return invalid("no loop");
  if (host.empty()) return invalid("connect needs a host");
  if (port == 0) return make_error("ERR_OUT_OF_RANGE", "port must be 1..65535");
  auto built = build(options, /*server=*/false);
  if (!built.ok()) return built.error();
  auto remote = resolve(host, port);
  if (!remote.ok()) return remote.error();
  std::string bind_host = options.bind_host;
  if (remote->family() == "IPv6" && bind_host == "0.0.0.0") bind_host = "::";
  auto bind = resolve(bind_host, options.bind_port, remote->family() == "IPv6");
  if (!bind.ok()) return bind.error();
  if (bind->family() != remote->family()) {
    return invalid("bind_host " + bind_host + " and host " + std::string(host) +
                   " are of different address families");
  }
  built->association.servername =
      options.servername.empty() ? std::string(host) : options.servername;
  auto core = std::make_shared<detail::EndpointCore>();
  core->single_session = true;
  UdpEndpointOptions uo;
  uo.context = built->context;
  auto udp = UdpEndpoint::open(loop, *bind, uo, core->callbacks());
  if (!udp.ok()) return udp.error();
  core->udp = std::move(udp).value();
  auto session_core = core->add_session(*remote);
  if (Status s = core->udp->connect(*remote, built->association); !s.ok()) {
    core->udp->destroy();
    return s.error();
  }
  Session session;
  session.core_ = session_core;
  session.owner_ = std::shared_ptr<void>(nullptr, [session_core](void*) {
    if (session_core->ended) return;
    if (auto ep = session_core->endpoint.lock(); ep && ep->udp) {
      ep->udp->close_session(session_core->peer);
    }
  });
  return session;
}

}  // namespace dtls
