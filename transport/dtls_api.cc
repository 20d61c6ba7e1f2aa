#include "transport/dtls_api.h"

#include <atomic>
#include <limits>
#include <memory>
#include <unordered_map>

#include "certs/credentials.h"
#include "certs/fingerprint.h"
#include "transport/eventual.h"
#include "transport/host_resolution.h"
#include "transport/srtp_keying.h"
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

struct Built {
  std::shared_ptr<const DtlsContext> context;
  AssociationOptions association;
};

// Every chain and key (cert/key, extra_certs/extra_keys, pfx), each key
// matched to its chain by public key (node allows any order).
Result<std::vector<certs::Credentials>> load_credentials(
    const SecureOptions& o) {
  std::vector<certs::Credentials> out;
  std::vector<std::string_view> chains;
  std::vector<std::pair<std::string_view, std::string_view>> keys;
  if (!o.cert.empty()) chains.push_back(o.cert);
  for (const auto& c : o.extra_certs) chains.push_back(c);
  if (!o.key.empty()) keys.emplace_back(o.key, o.passphrase);
  for (const auto& k : o.extra_keys)
    keys.emplace_back(k.pem, k.passphrase ? *k.passphrase : o.passphrase);
  if (chains.size() != keys.size()) {
    if (chains.empty() || keys.empty()) {
      return invalid(chains.empty() ? "key is given without cert"
                                    : "cert is given without key");
    }
    return invalid(std::to_string(chains.size()) + " certificate chains but " +
                   std::to_string(keys.size()) + " keys");
  }
  std::vector<bool> used(chains.size(), false);
  for (size_t k = 0; k < keys.size(); ++k) {
    bool matched = false;
    for (size_t c = 0; c < chains.size() && !matched; ++c) {
      if (used[c]) continue;
      certs::LoadOptions lo;
      lo.passphrase = keys[k].second;
      auto creds = certs::load_pem_credentials(chains[c], keys[k].first, lo);
      if (creds.ok()) {
        used[c] = true;
        matched = true;
        out.push_back(std::move(creds).value());
      } else if (creds.error().code != "ERR_CERT_KEY_MISMATCH") {
        return creds.error();  // unreadable PEM, wrong passphrase, expired
      }
    }
    if (!matched) {
      return make_error(
          "ERR_CERT_KEY_MISMATCH",
          "key[" + std::to_string(k) + "] belongs to none of the certificates");
    }
  }
  for (size_t i = 0; i < o.pfx.size(); ++i) {
    certs::LoadOptions lo;
    lo.passphrase = o.pfx[i].passphrase ? *o.pfx[i].passphrase
                                        : std::string_view(o.passphrase);
    auto creds = certs::load_pkcs12(o.pfx[i].data, lo);
    if (!creds.ok()) {
      Error e = creds.error();
      e.message = "pfx[" + std::to_string(i) + "]: " + e.message;
      return e;
    }
    out.push_back(std::move(creds).value());
  }
  return out;
}

Result<std::shared_ptr<const DtlsContext>> build_context(
    const SecureOptions& o, bool honor_cipher_order_default = false) {
  DtlsContextOptions co;
  auto creds = load_credentials(o);
  if (!creds.ok()) return creds.error();
  for (auto& c : *creds) {
    if (!co.credentials) {
      co.credentials = std::move(c);
    } else {
      co.extra_credentials.push_back(std::move(c));
    }
  }
  auto ca = certs::load_ca_list(o.ca);
  if (!ca.ok()) return ca.error();
  co.ca = std::move(ca).value();
  co.crl = o.crl;
  co.min_version = o.min_version;
  co.max_version = o.max_version;
  co.ciphers = o.ciphers;
  co.ecdh_curve = o.ecdh_curve;
  co.honor_cipher_order =
      o.honor_cipher_order.value_or(honor_cipher_order_default);
  co.sig_algs = o.sig_algs;
  co.dhparam = o.dhparam;
  co.session_tickets = o.session_tickets;
  co.ticket_keys = o.ticket_keys;
  co.session_timeout = o.session_timeout;
  co.alpn_protocols = o.alpn;
  co.srtp_profiles = o.srtp;
  co.require_srtp = o.require_srtp;
  return DtlsContext::create(std::move(co));
}

}  // namespace

struct SecureContextAccess {
  static const std::shared_ptr<const DtlsContext>& get(const SecureContext& c) {
    return c.context_;
  }
};

Result<SecureContext> create_secure_context(const SecureOptions& options) {
  auto ctx = build_context(options);
  if (!ctx.ok()) return ctx.error();
  SecureContext out;
  out.context_ = std::move(ctx).value();
  return out;
}

namespace {

Result<Built> build(const SecureOptions& o, bool server, bool psk = false) {
  std::shared_ptr<const DtlsContext> ctx =
      SecureContextAccess::get(o.secure_context);
  if (!ctx) {
    if (server && !psk && o.cert.empty() && o.key.empty() &&
        o.extra_certs.empty() && o.pfx.empty())
      return invalid("listen needs cert and key (or pfx, or psk_callback)");
    auto built = build_context(o, /*honor_cipher_order_default=*/server);
    if (!built.ok()) return built.error();
    ctx = std::move(built).value();
  }
  if (server && !psk && !ctx->has_certificate()) {
    return invalid("listen needs cert and key (the secure context has none)");
  }
  AssociationOptions ao;
  for (const std::string& f : o.fingerprints) {
    auto fp = certs::Fingerprint::parse_sdp(f);
    if (!fp.ok()) return fp.error();
    ao.peer_fingerprints.push_back(std::move(fp).value());
  }
  ao.reject_unauthorized = o.reject_unauthorized;
  ao.mtu = o.mtu;
  ao.handshake_timeout = o.handshake_timeout;
  ao.initial_retransmit_timeout = o.retransmit_initial;
  ao.max_retransmit_timeout = o.retransmit_max;
  ao.adaptive_retransmit = o.adaptive_retransmit;
  ao.initial_rtt = o.initial_rtt;
  ao.idle_timeout = o.idle_timeout;
  ao.keylog = true;  // lines go to on_keylog when one is set
  if (Status s = validate_association_options(ao); !s.ok()) return s.error();
  if (Status s = srtp::validate_context_options(
          {.replay_window = o.srtp_replay_window});
      !s.ok()) {
    return s.error();
  }
  if (o.send_queue_limit < 1 || o.send_queue_limit > (1u << 20)) {
    return make_error("ERR_OUT_OF_RANGE",
                      "send_queue_limit must be 1..1048576 datagrams, got " +
                          std::to_string(o.send_queue_limit));
  }
  if (Status s =
          validate_socket_buffer_sizes(o.recv_buffer_size, o.send_buffer_size);
      !s.ok()) {
    return s.error();
  }
  return Built{std::move(ctx), std::move(ao)};
}

// What the socket options of SecureOptions mean for its UDP endpoint.
UdpEndpointOptions endpoint_options(const SecureOptions& o,
                                    std::shared_ptr<const DtlsContext> ctx) {
  UdpEndpointOptions uo;
  uo.context = std::move(ctx);
  uo.srtp.replay_window = o.srtp_replay_window;
  uo.max_queued_sends = o.send_queue_limit;
  uo.always_queue_sends = o.always_queue_sends;
  uo.receive_buffer_size = o.recv_buffer_size;
  uo.send_buffer_size = o.send_buffer_size;
  uo.segment_sends = o.udp_offload;
  uo.coalesce_receives = o.udp_offload;
  return uo;
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
                    const PeerAddress& remote, const Built& built,
                    const ConnectOptions& options) {
  const bool v6 = remote.family() == "IPv6";
  std::string bind_host = options.bind_host;
  if (v6 && bind_host == "0.0.0.0") bind_host = "::";
  auto bind = bind_address(bind_host, options.bind_port, v6);
  if (!bind.ok()) return bind.error();
  if (bind->family() != remote.family()) {
    return invalid("bind_host " + bind_host + " and " + remote.ip() +
                   " are of different address families");
  }
  UdpEndpointOptions uo = endpoint_options(options, built.context);
  uo.connect_socket = true;  // ICMP errors fail the handshake at once
  auto udp = UdpEndpoint::open(loop, *bind, uo, core.callbacks());
  if (!udp.ok()) return udp.error();
  core.udp = std::move(udp).value();
  session->peer = remote;
  core.sessions[remote] = session;
  if (Status s = core.udp->connect(remote, built.association); !s.ok()) {
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
  if (!core) return invalid("an empty Session handle");
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
  if (!ctx) return invalid("set_secure_context needs a SecureContext");
  return on_loop(core_->dispatcher, [&]() -> Status {
    if (!core_->udp || core_->ended)
      return make_error("ERR_INVALID_STATE", "the endpoint has closed");
    if (core_->listening && !ctx->has_certificate() &&
        !core_->udp->options().server_association.psk_server) {
      return invalid("the secure context has no certificate");
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
  IceSessionOptions o;
  if (config.local.ufrag.empty()) {
    auto generated = generate_ice_credentials();
    if (!generated.ok()) return generated.error();
    o.local = std::move(generated).value();
  } else {
    o.local = std::move(config.local);
  }
  o.remote_ufrag = std::move(config.remote_ufrag);
  o.dtls_client = config.dtls_client;
  o.consent_timeout = config.consent_timeout;
  if (config.fingerprints.empty()) {
    return invalid("an ICE session needs the peer's a=fingerprint");
  }
  std::vector<certs::Fingerprint> pins;
  for (const std::string& f : config.fingerprints) {
    auto parsed = certs::Fingerprint::parse_sdp(f);
    if (!parsed.ok()) return parsed.error();
    pins.push_back(std::move(parsed).value());
  }
  return on_loop(core_->dispatcher, [&]() -> Result<Session> {
    if (!core_->udp || core_->ended)
      return make_error("ERR_INVALID_STATE", "the endpoint has closed");
    o.association = core_->ice_association;
    o.association.peer_fingerprints = pins;
    const IceCredentials local = o.local;
    if (Status st = core_->udp->add_ice_session(std::move(o)); !st.ok())
      return st.error();
    auto sc = std::make_shared<detail::SessionCore>(core_, PeerAddress(),
                                                    core_->dispatcher);
    sc->ice_waiting = true;
    sc->ice = local;
    sc->is_client = config.dtls_client;
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
  if (loop == nullptr) return invalid("no loop");
  if (!options.port) return invalid("listen needs a port (0 picks a free one)");
  if (options.max_sessions == 0)
    return make_error("ERR_OUT_OF_RANGE", "max_sessions must be >= 1");
  auto built =
      build(options, /*server=*/true, /*psk=*/bool(options.psk_callback));
  if (!built.ok()) return built.error();
  auto bind = bind_address(options.host, *options.port);
  if (!bind.ok()) return bind.error();
  built->association.request_cert = options.request_cert;
  built->association.psk_server = options.psk_callback;
  built->association.psk_identity_hint = options.psk_identity_hint;
  if (Status s = validate_association_options(built->association); !s.ok())
    return s.error();
  if (options.sni_callback) {
    built->association.sni_callback =
        [cb = options.sni_callback](std::string_view name)
        -> Result<std::shared_ptr<const DtlsContext>> {
      auto chosen = cb(name);
      if (!chosen.ok()) return chosen.error();
      return SecureContextAccess::get(*chosen);
    };
  }
  auto core = std::make_shared<detail::EndpointCore>(dispatcher);
  core->on_session = std::move(on_session);
  core->listening = true;
  UdpEndpointOptions uo = endpoint_options(options, built->context);
  uo.server_association = built->association;
  uo.accept_incoming = true;
  uo.max_sessions = options.max_sessions;
  uo.half_open = {.per_address = options.max_half_open_per_address,
                  .total = options.max_half_open,
                  .timeout = options.half_open_timeout,
                  .grace = options.half_open_grace};
  if (Status st = validate_half_open_limits(uo.half_open); !st.ok())
    return st.error();
  uo.receive_batch = 16;  // one recvmmsg for up to 16 datagrams
  uo.reuse_port = options.reuse_port;
  if (!options.cookie_secret.empty()) {
    if (options.cookie_secret.size() != CookieGate::kSecretSize) {
      return invalid("cookie_secret must be 32 bytes, got " +
                     std::to_string(options.cookie_secret.size()));
    }
    std::array<std::uint8_t, CookieGate::kSecretSize> master{};
    std::copy(options.cookie_secret.begin(), options.cookie_secret.end(),
              master.begin());
    uo.cookie_master_secret = master;
  }
  uo.ice_lite = options.ice_lite;
  core->ice_association = built->association;
  auto udp = UdpEndpoint::open(loop, *bind, uo, core->callbacks());
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
  if (loop == nullptr) return invalid("no loop");
  if (host.empty()) return invalid("connect needs a host");
  if (port == 0) return make_error("ERR_OUT_OF_RANGE", "port must be 1..65535");
  auto built = build(options, /*server=*/false);
  if (!built.ok()) return built.error();
  if (!options.session.empty()) {
    auto session = decode_session(options.session);
    if (!session.ok()) return session.error();
    built->association.session = std::move(session).value();
  }
  built->association.psk_client = options.psk_callback;
  // Checked here so that a bad bind_host fails at the call, names too.
  if (auto b = bind_address(options.bind_host, 0); !b.ok()) return b.error();
  built->association.servername =
      options.servername.empty() ? std::string(host) : options.servername;
  auto core = std::make_shared<detail::EndpointCore>(dispatcher);
  core->single_session = true;
  auto session_core =
      std::make_shared<detail::SessionCore>(core, PeerAddress(), dispatcher);
  session_core->is_client = true;
  // An IP literal starts now; a name (even "localhost") is looked up first.
  if (auto remote = PeerAddress::parse(host, port); remote.ok()) {
    Status s =
        start_client(loop, *core, session_core, *remote, *built, options);
    if (!s.ok()) return s.error();
  } else {
    session_core->resolving = true;
    Status s = resolve_host(
        loop, std::string(host), port,
        [loop, core, session_core, built = std::move(built).value(),
         options = std::move(options)](Result<PeerAddress> remote) {
          if (session_core->ended) return;  // closed or destroyed meanwhile
          session_core->resolving = false;
          if (!remote.ok()) {
            session_core->finish_unattached(remote.error());
            return;
          }
          Status st =
              start_client(loop, *core, session_core, *remote, built, options);
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
