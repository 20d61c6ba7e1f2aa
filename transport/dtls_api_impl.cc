#include "transport/dtls_api_impl.h"

#include <atomic>
#include <utility>

#include "srtp/srtp_profile.h"
#include "transport/io/host_resolution.h"

namespace dtls::detail {

std::uint64_t next_handle_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}
namespace {

Error endpoint_closed() {
  return make_error("ERR_DTLS_SESSION_CLOSED", "the endpoint closed");
}

}  // namespace

// ---- SessionImpl

DtlsAssociation* SessionImpl::association() const {
  auto ep = endpoint.lock();
  if (ended || !ep || !ep->udp) return nullptr;
  return ep->udp->association(peer);
}

SessionStats SessionImpl::live_stats(const DtlsAssociation& a,
                                     const srtp::MediaCounters* media) const {
  SessionStats out;
  static_cast<AssociationStats&>(out) = a.stats();
  if (media) out.media = *media;
  out.closing_at = closing_at;
  out.posted_send_failures = posted_send_failures;
  out.unheard_message_drops = unheard_message_drops;
  out.is_connected = true;
  return out;
}

void SessionImpl::deliver_message(std::span<const std::uint8_t> message) {
  if (callbacks.on_message) {
    callbacks.on_message(message);
  } else if (held_messages.size() < Session::kHeldMessages) {
    held_messages.emplace_back(message.begin(), message.end());
  } else {
    ++unheard_message_drops;
  }
}

void SessionImpl::set_on_message(
    std::function<void(std::span<const std::uint8_t>)> on_message) {
  callbacks.on_message = std::move(on_message);
  // In order, each to whatever callback is in place when its turn comes (a
  // callback may replace itself).
  auto held = std::move(held_messages);
  held_messages.clear();
  for (size_t i = 0; i < held.size(); ++i) {
    if (!callbacks.on_message || ended) {
      held_messages.assign(std::make_move_iterator(held.begin() + i),
                           std::make_move_iterator(held.end()));
      return;
    }
    callbacks.on_message(held[i]);
  }
}

void SessionImpl::fail(const Error& e) {
  if (!end_error) end_error = e;
  opened.settle(e);
  if (callbacks.on_error) callbacks.on_error(e);
}

void SessionImpl::begin_queued() {
  auto ep = endpoint.lock();
  if (ended || !ep || !ep->udp) return;
  queued_socket = ep->udp;
  queued_socket->cork();
}

void SessionImpl::send_queued(std::uint8_t tag,
                              std::span<std::uint8_t> packet) {
  if (ended || !queued_socket) {
    ++posted_send_failures;
    return;
  }
  const Result<size_t> sent =
      tag == kQueuedMessage
          ? queued_socket->send(peer, packet)
          : queued_socket->send_media(peer, static_cast<PacketKind>(tag),
                                      packet, nullptr, &route);
  if (!sent.ok()) ++posted_send_failures;
}

void SessionImpl::end_queued() {
  if (!queued_socket) return;
  queued_socket->uncork();
  queued_socket.reset();
}

void SessionImpl::opened_with(const DtlsAssociation& a) {
  if (auto profile = srtp::profile_from_name(a.srtp_profile())) {
    const srtp::ProfileInfo& info = srtp::profile_info(*profile);
    rtp_trailer = static_cast<int>(info.rtp_tag_length);
    rtcp_trailer =
        static_cast<int>(srtp::kSrtcpIndexLength + info.rtcp_tag_length);
  }
  cross_state.store(kOpen, std::memory_order_release);
}

void SessionImpl::finish() {
  cross_state.store(kEnded, std::memory_order_release);
  ended = true;
  if (stop_hook != 0 && dispatcher) dispatcher->cancel_stop(stop_hook);
  stop_hook = 0;
  resolving = false;
  ice_waiting = false;
  snapshot.is_connected = false;
  snapshot.destroyed_at = Clock::now();
  opened.settle(make_error("ERR_DTLS_SESSION_CLOSED",
                           "closed before the handshake completed"));
  closed.settle(end_error ? Status(*end_error) : Status());
  // Callbacks commonly capture a Session handle (to reply), which would
  // otherwise keep it alive through itself forever.
  callbacks = {};
  held_messages.clear();
  opened.drop_callbacks();
  closed.drop_callbacks();
}

void SessionImpl::finish_unattached(std::optional<Error> error) {
  if (ended) return;
  snapshot.created_at = created_at;
  if (error) fail(*error);
  finish();
}

void SessionImpl::close_now() {
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

void SessionImpl::destroy_now(std::optional<Error> error) {
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

void SessionImpl::end_ice_wait(std::optional<Error> error) {
  if (auto ep = endpoint.lock()) {
    ep->ice_pending.erase(ice.ufrag);
    if (ep->udp) ep->udp->remove_ice_session(ice.ufrag);
  }
  finish_unattached(std::move(error));
}

// ---- EndpointImpl

UdpEndpoint::Callbacks EndpointImpl::udp_callbacks() {
  auto self = shared_from_this();
  return {
      [self](const PeerAddress& p) { self->handle_session(p); },
      [self](const PeerAddress& p, const DtlsEvent& e) {
        self->handle_event(p, e);
      },
      [self](const PeerAddress& p, const DtlsAssociation& a,
             const srtp::MediaCounters& m) { self->handle_finished(p, a, m); },
      [self, generation = socket_generation] {
        if (generation == self->socket_generation) self->handle_closed();
      },
      [self](const PeerAddress& p, PacketKind kind,
             std::span<const std::uint8_t> packet) {
        self->handle_media(p, kind, packet);
      },
      [self](const std::string& ufrag, const IceEvent& e) {
        self->handle_ice(ufrag, e);
      },
      [self] { self->handle_drain(); }};
}

// The socket's send queue emptied after it refused datagrams: the endpoint's
// callback, then those of the sessions on that socket. Copies are called, so
// a callback may replace itself.
void EndpointImpl::handle_drain() {
  if (auto cb = callbacks.on_drain) cb();
  std::vector<std::shared_ptr<SessionImpl>> listening_sessions;
  for (const auto& [peer, s] : sessions) {
    if (s->callbacks.on_drain) listening_sessions.push_back(s);
  }
  for (const auto& s : listening_sessions) {
    if (auto cb = s->callbacks.on_drain; cb && !s->ended) cb();
  }
}

void EndpointImpl::handle_ice(const std::string& ufrag, const IceEvent& e) {
  auto it = ice_pending.find(ufrag);
  if (it == ice_pending.end()) return;
  std::shared_ptr<SessionImpl> s = it->second;
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

void EndpointImpl::handle_session(const PeerAddress& p) {
  auto s = std::make_shared<SessionImpl>(weak_from_this(), p, dispatcher);
  sessions[p] = s;
  Session handle;
  handle.core_ = std::move(s);
  if (callbacks.on_session) callbacks.on_session(handle);
}

void EndpointImpl::handle_event(const PeerAddress& p, const DtlsEvent& e) {
  auto it = sessions.find(p);
  if (it == sessions.end()) return;
  std::shared_ptr<SessionImpl> s = it->second;
  const SessionCallbacks& cb = s->callbacks;
  switch (e.type) {
    case DtlsEvent::Type::kHandshakeComplete: {
      DtlsAssociation* a = udp ? udp->association(p) : nullptr;
      std::string protocol = a ? a->protocol() : "";
      if (a) s->opened_with(*a);
      s->opened.settle(protocol);
      if (cb.on_handshake) cb.on_handshake(protocol);
      break;
    }
    case DtlsEvent::Type::kData:
      s->deliver_message(e.data);
      break;
    case DtlsEvent::Type::kKeylog:
      if (cb.on_keylog) {
        cb.on_keylog(std::string_view(
            reinterpret_cast<const char*>(e.data.data()), e.data.size()));
      }
      break;
    case DtlsEvent::Type::kError:
      s->fail(e.error);
      break;
    case DtlsEvent::Type::kSession:
      if (cb.on_session) cb.on_session(e.data);
      break;
    case DtlsEvent::Type::kClosed:
      break;  // handle_finished follows
  }
}

void EndpointImpl::handle_media(const PeerAddress& p, PacketKind kind,
                                std::span<const std::uint8_t> packet) {
  auto it = sessions.find(p);
  if (it == sessions.end()) return;
  const SessionCallbacks& cb = it->second->callbacks;
  auto& deliver = kind == PacketKind::kRtp ? cb.on_rtp : cb.on_rtcp;
  if (deliver) deliver(packet);
}

void EndpointImpl::handle_finished(const PeerAddress& p,
                                   const DtlsAssociation& a,
                                   const srtp::MediaCounters& media) {
  auto it = sessions.find(p);
  if (it == sessions.end()) return;
  std::shared_ptr<SessionImpl> s = it->second;
  sessions.erase(it);
  s->snapshot = s->live_stats(a, &media);
  s->finish();
  if (single_session && udp && !udp->closing()) udp->close();
}

void EndpointImpl::handle_closed() {
  // Ended from here on: the callbacks below (on_error, on_closed...) may
  // call listen, connect, close or destroy on this endpoint, and those are
  // refused or do nothing.
  ended = true;
  if (stop_hook != 0 && dispatcher) dispatcher->cancel_stop(stop_hook);
  stop_hook = 0;
  // Sessions still here when the socket went end with it.
  auto left = std::move(sessions);
  sessions.clear();
  auto unresolved = std::move(resolving);
  resolving.clear();
  for (auto& [id, s] : unresolved) {
    s->finish_unattached(destroy_error.value_or(endpoint_closed()));
  }
  auto waiting = std::move(ice_pending);
  ice_pending.clear();
  for (auto& [ufrag, s] : waiting) {
    s->finish_unattached(destroy_error.value_or(endpoint_closed()));
  }
  for (auto& [p, s] : left) {
    s->fail(destroy_error.value_or(endpoint_closed()));
    s->finish();
  }
  if (udp) snapshot = live_stats();
  snapshot.is_connected = false;
  snapshot.destroyed_at = Clock::now();
  publish_address(PeerAddress());  // before closed() resolves
  closed.settle(destroy_error ? Status(*destroy_error) : Status());
  // They may hold an Endpoint handle: no cycle after the end.
  callbacks = {};
  closed.drop_callbacks();
  udp.reset();  // UdpEndpoint's close callback still holds it until it returns
}

void EndpointImpl::publish_address(const PeerAddress& local) {
  std::lock_guard lock(address_mu_);
  bound_address_ = local;
}

PeerAddress EndpointImpl::bound_address() const {
  std::lock_guard lock(address_mu_);
  return bound_address_;
}

Status EndpointImpl::check_open() const {
  if (ended || (udp && udp->closing()))
    return make_error(Errc::kInvalidState, "the endpoint has closed");
  return {};
}

Status EndpointImpl::check_bound() const {
  if (Status st = check_open(); !st.ok()) return st;
  if (!udp) {
    return make_error(Errc::kInvalidState,
                      "the endpoint has no socket yet (listen or connect)");
  }
  return {};
}

void EndpointImpl::share_loop_state(UdpEndpointOptions& options) const {
  // On an EventLoop every endpoint, the one-session endpoint of each
  // dtls::connect() included, learns round trips for the others: an
  // application that reconnects, or opens many sessions to one host, times
  // even the first ClientHello by what the loop measured last.
  static const char kRttCacheKey = 0;
  if (dispatcher)
    options.rtt_cache = dispatcher->loop_local<RttCache>(&kRttCacheKey);
}

Status EndpointImpl::bind_listening(ListenPlan plan,
                                    std::function<void(Session)> on_session) {
  if (Status st = check_open(); !st.ok()) return st;
  if (udp) {
    return make_error(Errc::kInvalidState,
                      "the endpoint is bound already (listen or connect)");
  }
  ice_association = plan.endpoint.server_association;
  share_loop_state(plan.endpoint);
  auto opened = UdpEndpoint::open(loop, plan.bind, std::move(plan.endpoint),
                                  udp_callbacks());
  if (!opened.ok()) return opened.error();
  udp = std::move(opened).value();
  publish_address(udp->local_address());
  callbacks.on_session = std::move(on_session);
  listening = true;
  return {};
}

Status EndpointImpl::start_connect(const std::shared_ptr<SessionImpl>& session,
                                   std::string_view host, std::uint16_t port,
                                   ConnectPlan plan) {
  if (Status st = check_open(); !st.ok()) return st;
  if (auto remote = PeerAddress::parse(host, port); remote.ok())
    return connect_resolved(session, *remote, plan);
  // A shared socket is bound now, by this call's options and bind_host's
  // family, whatever resolves first; dtls::connect's own socket waits for
  // the server's family.
  if (!udp && !single_session) {
    auto bind = client_bind_address(plan);
    if (!bind.ok()) return bind.error();
    if (Status st = bind_client(*bind, plan); !st.ok()) return st;
  }
  session->resolving = true;
  resolving[session->id] = session;
  // The lookup holds the endpoint: a connect() endpoint has no other owner
  // until its socket is open.
  Status st = resolve_host(
      loop, std::string(host), port,
      [session, self = shared_from_this(),
       plan = std::move(plan)](Result<PeerAddress> remote) {
        self->resolving.erase(session->id);
        if (session->ended) return;  // closed or destroyed while resolving
        session->resolving = false;
        // An endpoint closing meanwhile ends the session as it ends its
        // others.
        Status attached = !remote.ok() ? Status(remote.error())
                          : !self->check_open().ok()
                              ? Status(endpoint_closed())
                              : self->connect_resolved(session, *remote, plan);
        if (!attached.ok()) session->finish_unattached(attached.error());
      });
  if (!st.ok()) {
    resolving.erase(session->id);
    session->resolving = false;
  }
  return st;
}

Status EndpointImpl::connect_resolved(
    const std::shared_ptr<SessionImpl>& session, const PeerAddress& remote,
    const ConnectPlan& plan) {
  if (Status st = check_open(); !st.ok()) return st;
  if (sessions.count(remote) != 0) {
    return make_error(Errc::kDtlsSessionExists,
                      "a session with " + remote.to_string() + " exists");
  }
  const bool bound_here = !udp;
  if (bound_here) {
    auto bind = client_bind_address(plan, remote);
    if (!bind.ok()) return bind.error();
    if (Status st = bind_client(*bind, plan); !st.ok()) return st;
  } else if (udp->local_address().family() != remote.family()) {
    return invalid_argument("the endpoint's socket (" +
                            udp->local_address().to_string() +
                            ") cannot reach " + remote.to_string());
  }
  session->peer = remote;
  sessions[remote] = session;
  if (Status st = udp->connect(remote, plan.association); !st.ok()) {
    sessions.erase(remote);
    if (bound_here) discard_socket();
    return st;
  }
  return {};
}

Status EndpointImpl::bind_client(const PeerAddress& bind,
                                 const ConnectPlan& plan) {
  UdpEndpointOptions options = plan.endpoint;
  if (!single_session) {
    // Many peers on this socket: it cannot be connected to one, and
    // batched receives pay off.
    options.connect_socket = false;
    options.receive_batch = 16;
  }
  share_loop_state(options);
  auto opened =
      UdpEndpoint::open(loop, bind, std::move(options), udp_callbacks());
  if (!opened.ok()) return opened.error();
  udp = std::move(opened).value();
  publish_address(udp->local_address());
  return {};
}

void EndpointImpl::discard_socket() {
  ++socket_generation;
  std::shared_ptr<UdpEndpoint> dropped = std::move(udp);
  publish_address(PeerAddress());
  dropped->destroy();
}

void EndpointImpl::close_now() {
  if (udp) {
    udp->close();
  } else if (!ended) {
    handle_closed();  // never bound: nothing to flush
  }
}

void EndpointImpl::destroy_now(std::optional<Error> error) {
  if (ended) return;
  if (error && !destroy_error) destroy_error = std::move(error);
  if (udp) {
    udp->destroy(destroy_error);
  } else {
    handle_closed();
  }
}

EndpointStats EndpointImpl::live_stats() const {
  EndpointStats out;
  static_cast<EndpointCounters&>(out) = udp->stats();
  out.created_at = created_at;
  out.half_open = udp->half_open_count();
  out.deadlines = udp->deadline_count();
  out.is_connected = true;
  return out;
}

// ---- opening

Result<std::shared_ptr<SessionImpl>> open_client(
    uv_loop_t* loop, std::shared_ptr<LoopDispatcher> dispatcher,
    std::string_view host, std::uint16_t port, ConnectPlan plan) {
  auto core = std::make_shared<EndpointImpl>(loop, dispatcher);
  core->single_session = true;
  auto session =
      std::make_shared<SessionImpl>(core, PeerAddress(), std::move(dispatcher));
  session->is_client = true;
  if (Status s = core->start_connect(session, host, port, std::move(plan));
      !s.ok()) {
    return s.error();
  }
  return session;
}

}  // namespace dtls::detail
