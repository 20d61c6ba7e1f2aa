#include "transport/udp_endpoint.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include "transport/dtls_record.h"
#include "transport/srtp_keying.h"

namespace dtls {

// A datagram the kernel pushed back, waiting in libuv's send queue.
struct UdpEndpoint::SendRequest {
  uv_udp_send_t req;
  std::vector<std::uint8_t> data;
};

namespace {

Error socket_error(const PeerAddress& peer, int uv_error) {
  if (uv_error == UV_ECONNREFUSED) {
    return make_error(
        "ERR_DTLS_CONNECTION_REFUSED",
        peer.to_string() + " refused the connection (ICMP port unreachable)");
  }
  return make_error(
      "ERR_DTLS_HOST_UNREACHABLE",
      peer.to_string() + " is unreachable: " + uv_strerror(uv_error));
}

bool ends_connection(int uv_error) {
  return uv_error == UV_ECONNREFUSED || uv_error == UV_EHOSTUNREACH ||
         uv_error == UV_ENETUNREACH;
}

}  // namespace

UdpEndpoint::UdpEndpoint(uv_loop_t* loop, UdpEndpointOptions options,
                         Callbacks callbacks)
    : loop_(loop),
      options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      half_open_(options_.half_open),
      half_open_id_(next_id_++),
      receive_(options_.receive_batch),
      media_out_(65536 + srtp::kMaxTrailer) {
  if (!options_.accept_incoming && !options_.ice_lite) return;
  if (options_.cookie_master_secret) {
    cookie_period_ = cookie_period();
    gate_.emplace(CookieGate::derive_secret(*options_.cookie_master_secret,
                                            cookie_period_));
  } else {
    gate_.emplace();
  }
}

std::uint64_t UdpEndpoint::cookie_period() const {
  const auto period = std::max<std::chrono::milliseconds::rep>(
      1, options_.cookie_rotation.count());
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          Clock::now().time_since_epoch())
          .count() /
      period);
}

UdpEndpoint::~UdpEndpoint() = default;

namespace {

int socket_int_option(const uv_udp_t* udp, int option) {
  uv_os_fd_t fd = -1;
  int value = 0;
  socklen_t len = sizeof(value);
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(udp), &fd) != 0 ||
      getsockopt(fd, SOL_SOCKET, option, &value, &len) != 0) {
    return -1;
  }
  return value;
}

}  // namespace

int UdpEndpoint::receive_buffer_size() const {
  return socket_int_option(&udp_, SO_RCVBUF);
}

int UdpEndpoint::send_buffer_size() const {
  return socket_int_option(&udp_, SO_SNDBUF);
}

Status validate_socket_buffer_sizes(size_t receive, size_t send) {
  // setsockopt takes an int, and the kernel doubles it.
  constexpr size_t kMaxBuffer = std::numeric_limits<int>::max() / 2;
  for (auto [name, size] : {std::pair{"recv_buffer_size", receive},
                            std::pair{"send_buffer_size", send}}) {
    if (size > kMaxBuffer) {
      return make_error("ERR_OUT_OF_RANGE",
                        std::string(name) + " must be at most " +
                            std::to_string(kMaxBuffer) + " bytes, got " +
                            std::to_string(size));
    }
  }
  return {};
}

Result<std::shared_ptr<UdpEndpoint>> UdpEndpoint::open(
    uv_loop_t* loop, const PeerAddress& bind, UdpEndpointOptions options,
    Callbacks callbacks) {
  if (loop == nullptr || !options.context || bind.empty()) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "a loop, a DTLS context and an address are needed");
  }
  // Without a queue nothing would ever drain, and DTLS flights that meet
  // EAGAIN would wait for a retransmission.
  if (options.max_queued_sends == 0) {
    return make_error("ERR_OUT_OF_RANGE",
                      "max_queued_sends must be at least 1");
  }
  if (Status st = validate_half_open_limits(options.half_open); !st.ok())
    return st.error();
  if (Status st = validate_socket_buffer_sizes(options.receive_buffer_size,
                                               options.send_buffer_size);
      !st.ok()) {
    return st.error();
  }
  std::shared_ptr<UdpEndpoint> e(
      new UdpEndpoint(loop, std::move(options), std::move(callbacks)));
  // A family makes libuv create the socket now, so that options can be set
  // on it before bind.
  const unsigned flags =
      e->options_.reuse_port
          ? static_cast<unsigned>(bind.sockaddr_ptr()->sa_family)
          : AF_UNSPEC;
  if (int r = uv_udp_init_ex(loop, &e->udp_, flags); r != 0) {
    return make_error("ERR_SOCKET",
                      std::string("uv_udp_init: ") + uv_strerror(r));
  }
  e->udp_.data = e.get();
  e->open_handles_ = 1;
  e->self_ = e;
  if (e->options_.reuse_port) {
    uv_os_fd_t fd = -1;
    int on = 1;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&e->udp_), &fd) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) != 0) {
      e->callbacks_ = {};
      e->release_handles();
      return make_error("ERR_SOCKET", "cannot set SO_REUSEPORT");
    }
  }
  if (int r = uv_udp_bind(&e->udp_, bind.sockaddr_ptr(), 0); r != 0) {
    e->callbacks_ =
        {};  // the caller never had this endpoint: no on_closed for it
    e->release_handles();
    return make_error("ERR_SOCKET_BIND", "cannot bind " + bind.to_string() +
                                             ": " + uv_strerror(r));
  }
  sockaddr_storage ss{};
  int len = sizeof(ss);
  uv_udp_getsockname(&e->udp_, reinterpret_cast<sockaddr*>(&ss), &len);
  e->local_ = PeerAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss));
  uv_timer_init(loop, &e->timer_);
  e->timer_.data = e.get();
  uv_timer_init(loop, &e->rotate_timer_);
  e->rotate_timer_.data = e.get();
  e->open_handles_ = 3;
  uv_os_fd_t fd = -1;
  int r = uv_fileno(reinterpret_cast<uv_handle_t*>(&e->udp_), &fd);
  for (auto [option, size] :
       {std::pair{SO_RCVBUF, e->options_.receive_buffer_size},
        std::pair{SO_SNDBUF, e->options_.send_buffer_size}}) {
    const int bytes = static_cast<int>(size);
    if (r == 0 && size > 0 &&
        setsockopt(fd, SOL_SOCKET, option, &bytes, sizeof(bytes)) != 0) {
      r = -errno;
    }
  }
  if (r == 0) {
    if (e->options_.coalesce_receives)
      e->coalescing_ = ReceiveBatch::enable_coalescing(fd);
    e->poll_fd_ = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    r = e->poll_fd_ < 0 ? -errno
                        : uv_poll_init_socket(loop, &e->poll_, e->poll_fd_);
  }
  if (r == 0) {
    e->poll_.data = e.get();
    e->open_handles_ = 4;
    r = uv_poll_start(&e->poll_, UV_READABLE, poll_cb);
  }
  if (r != 0) {
    e->callbacks_ = {};
    e->release_handles();
    return make_error(
        "ERR_SOCKET",
        std::string("cannot receive on the socket: ") + uv_strerror(r));
  }
  if (e->options_.accept_incoming) {
    auto period =
        static_cast<std::uint64_t>(e->options_.cookie_rotation.count());
    // With a shared master, rotation follows the period number (a clock all
    // workers share); checking 8 times a period keeps any worker at most an
    // eighth of a period behind the others.
    if (e->options_.cookie_master_secret)
      period = std::max<std::uint64_t>(1, period / 8);
    uv_timer_start(&e->rotate_timer_, rotate_cb, period, period);
  }
  return e;
}

void UdpEndpoint::poll_cb(uv_poll_t* p, int status, int) {
  auto* self = static_cast<UdpEndpoint*>(p->data);
  const int fatal = self->read_socket();
  // On POLLERR libuv stops the handle and says UV_EBADF, though the socket
  // is fine: a pending error (an ICMP unreachable on a connected socket)
  // that the read above has taken. Only a descriptor that cannot be read
  // stops receiving.
  if (status < 0 && fatal == 0 && !self->released_)
    uv_poll_start(&self->poll_, UV_READABLE, poll_cb);
}

int UdpEndpoint::read_socket() {
  // Bounded, like libuv's 32 reads per wakeup, so that one busy socket
  // cannot starve the loop's other handles.
  for (int round = 0; round < 32 && !released_; ++round) {
    ReceiveBatch::Received r = receive_.receive(poll_fd_);
    if (r.error == -EAGAIN || r.error == -EWOULDBLOCK) return 0;
    if (r.error == -EBADF || r.error == -ENOTSOCK || r.error == -EINVAL ||
        r.error == -EFAULT) {
      stats_.socket_errors++;
      return r.error;
    }
    if (r.error != 0) {
      // An ICMP error surfaces as ECONNREFUSED; datagrams may follow it.
      on_socket_error(r.error);
      continue;
    }
    stats_.receive_calls++;
    // What the batch's callbacks send leaves together, at the end.
    const bool cork_batch = r.datagrams > 1;
    if (cork_batch) cork();
    for (size_t i = 0; i < r.messages && !released_; ++i) {
      ReceiveBatch::Message m = receive_.message(i);
      if (m.from == nullptr) continue;
      const size_t count = m.count();
      if (count > 1) stats_.datagrams_coalesced += count;
      for (size_t k = 0; k < count && !released_; ++k)
        on_datagram(receive_.datagram(m, k), m.from);
    }
    if (cork_batch) uncork();
    // A short batch emptied the queue: no EAGAIN call to learn it.
    if (r.messages < receive_.capacity()) return 0;
  }
  return 0;
}

void UdpEndpoint::on_socket_error(int uv_error) {
  stats_.socket_errors++;
  // Linux reports ICMP errors only on connected sockets (without IP_RECVERR),
  // and a connected socket has one peer. ICMP is a soft error (RFC 1122
  // §4.2.3.9 in spirit; a peer rebinding its socket, or a restarting server,
  // sends one in passing): it ends the session only when the peer has never
  // answered and a retransmission was refused too.
  if (!connected_ || released_ || !ends_connection(uv_error)) return;
  if (heard_from_peer_ || ++refusals_ < 2) return;
  destroy_session(*connected_, socket_error(*connected_, uv_error));
}

UdpEndpoint::Session* UdpEndpoint::find(const PeerAddress& peer) {
  auto it = sessions_.find(peer);
  return it == sessions_.end() ? nullptr : &it->second;
}

UdpEndpoint::Session& UdpEndpoint::add(const PeerAddress& peer,
                                       std::unique_ptr<DtlsAssociation> a) {
  DeadlineQueue::Id id = next_id_++;
  by_id_[id] = peer;
  // Associations only get datagrams from this endpoint, which outlives them.
  a->share_record_drops(&stats_.record_drops);
  return sessions_
      .emplace(peer, Session{id, std::move(a), nullptr, std::nullopt})
      .first->second;
}

void UdpEndpoint::on_datagram(std::span<std::uint8_t> data,
                              const sockaddr* from) {
  stats_.packets_received++;
  stats_.bytes_received += data.size();
  PacketKind kind = classify(data);
  stats_.demux.count(kind);
  if (closing_) return;
  if (kind != PacketKind::kDtls && kind != PacketKind::kRtp &&
      kind != PacketKind::kRtcp && kind != PacketKind::kStun) {
    return;  // RFC 7983: ZRTP, TURN channels and the rest are not ours
  }
  PeerAddress peer = PeerAddress::from_sockaddr(from);
  if (peer.empty()) return;
  if (connected_) heard_from_peer_ = true;  // the kernel filters the others
  if (kind == PacketKind::kRtp || kind == PacketKind::kRtcp) {
    on_media(data, kind, peer);
    return;
  }
  if (kind == PacketKind::kStun) {
    on_stun(data, peer, Clock::now());
    return;
  }
  on_dtls(data, peer, Clock::now());
}

void UdpEndpoint::on_dtls(std::span<const std::uint8_t> data,
                          const PeerAddress& peer, TimePoint now) {
  if (options_.ice_lite) {
    on_ice_dtls(data, peer, now);
    return;
  }
  bool restart = false;
  if (Session* s = find(peer)) {
    // RFC 6347 §4.2.8: a new ClientHello (epoch 0) from the address of an
    // established association is a peer that restarted (a reloaded page, a
    // reused port). Answer it through the cookie exchange; the old
    // association goes only once the cookie shows the new peer is reachable.
    // During a handshake, ClientHellos are retransmissions and go to it.
    restart = options_.accept_incoming &&
              s->association->state() != DtlsAssociation::State::kHandshaking &&
              parse_client_hello_prefix(data).has_value();
    if (!restart) {
      s->association->handle_datagram(data, now);
      after(peer);
      return;
    }
  }
  if (!options_.accept_incoming) return;
  auto cookie = check_cookie(data, peer, now);
  if (!cookie) return;
  if (restart) {
    stats_.peer_restarts++;
    destroy_session(peer,
                    make_error("ERR_DTLS_PEER_RESTARTED",
                               peer.to_string() + " started a new handshake"));
    if (closing_) return;  // a callback closed the endpoint
  }
  if (!accept_hello(data, *cookie, peer, options_.server_association, now))
    return;
  if (callbacks_.on_session) callbacks_.on_session(peer);
  after(peer);
}

// RFC 6347 §4.2.1: a hello without a fresh cookie of ours gets a
// HelloVerifyRequest and no state; the verified cookie otherwise.
std::optional<CookieGate::Decision> UdpEndpoint::check_cookie(
    std::span<const std::uint8_t> data, const PeerAddress& peer,
    TimePoint now) {
  if (!gate_) return std::nullopt;
  CookieGate::Decision d = gate_->inspect(data, peer.key(), now);
  stats_.cookie_refusals = gate_->refused();
  if (d.verdict == CookieGate::Verdict::kHelloVerify) {
    stats_.hello_verify_requests++;
    send_datagram(peer, d.reply);
    return std::nullopt;
  }
  if (d.verdict != CookieGate::Verdict::kAccept) return std::nullopt;
  return d;
}

UdpEndpoint::Session* UdpEndpoint::accept_hello(
    std::span<const std::uint8_t> data, const CookieGate::Decision& admitted,
    const PeerAddress& peer, const AssociationOptions& options, TimePoint now) {
  if (busy_) {
    stats_.server_busy_count++;
    return nullptr;
  }
  // A half-open slot taken by a peer that went silent after the cookie is
  // given to this one, whose address also answered a cookie, once that one
  // has had its grace to answer.
  const bool full = sessions_.size() >= options_.max_sessions;
  const HalfOpenTable::Admission admission = half_open_.admit(peer, now, full);
  using Verdict = HalfOpenTable::Admission::Verdict;
  if (admission.verdict == Verdict::kRefuse) {
    // No state: the client retransmits its hello.
    if (full) {
      stats_.server_busy_count++;
    } else {
      stats_.half_open_refused++;
    }
    return nullptr;
  }
  // The association first: a hello that OpenSSL refuses (malformed past the
  // prefix the cookie gate read) must not cost anyone else their slot.
  auto a = DtlsAssociation::accept(options_.context, options, data,
                                   admitted.cookie, now, admitted.cookie_age);
  if (!a.ok()) return nullptr;  // no state kept
  if (admission.verdict == Verdict::kReplace) {
    stats_.half_open_evicted++;
    destroy_session(admission.victim,
                    make_error("ERR_DTLS_HANDSHAKE_EVICTED",
                               "a newer handshake took the place of this "
                               "half-open one"));
    // The victim's callbacks may have called back in: closed the endpoint,
    // or made a session (a connect) to this very address.
    if (closing_ || released_ || find(peer) != nullptr) return nullptr;
    if (sessions_.size() >= options_.max_sessions) {
      stats_.server_busy_count++;
      return nullptr;
    }
  }
  stats_.server_sessions++;
  Session& s = add(peer, std::move(a).value());
  s.steps_seen = s.association->handshake_steps();
  half_open_.add(peer, now);
  deadlines_.set(half_open_id_, half_open_.next_deadline());
  return &s;
}

void UdpEndpoint::forget_half_open(const PeerAddress& peer) {
  if (!half_open_.contains(peer)) return;
  half_open_.remove(peer);
  deadlines_.set(half_open_id_, half_open_.next_deadline());
}

void UdpEndpoint::expire_half_open(TimePoint now) {
  while (auto peer = half_open_.pop_expired(now)) {
    stats_.half_open_expired++;
    destroy_session(
        *peer,
        make_error("ERR_DTLS_HANDSHAKE_TIMEOUT",
                   "the peer did not answer our first flight within " +
                       std::to_string(half_open_.limits().timeout.count()) +
                       " ms"));
    if (closing_ || released_) return;
  }
  deadlines_.set(half_open_id_, half_open_.next_deadline());
}

// SRTP and SRTCP (RFC 7983: first byte 128..191; RFC 5761 §4 splits them by
// payload type), unprotected in place in the receive buffer.
void UdpEndpoint::on_media(std::span<std::uint8_t> data, PacketKind kind,
                           const PeerAddress& peer) {
  PeerAddress key;
  Session* s = route(peer, key);
  if (s == nullptr) {
    stats_.media_without_session++;
    return;
  }
  if (!s->srtp) {
    stats_.media_before_keys++;
    return;
  }
  srtp::PacketResult r = kind == PacketKind::kRtp
                             ? s->srtp->unprotect_rtp(data)
                             : s->srtp->unprotect_rtcp(data);
  if (r.status == srtp::PacketStatus::kKeyLimit) {
    end_for_key_limit(key);
    return;
  }
  // Authenticated media proves the peer is there (idle_timeout).
  if (r.ok() && s->association->tracks_activity())
    s->association->note_activity(Clock::now());
  // Failures are counted by the context and never delivered.
  if (r.ok() && callbacks_.on_media) {
    callbacks_.on_media(key, kind, data.first(r.length));
  }
}

// RFC 5764 §4.2: the SRTP master keys come from the RFC 5705 exporter with
// the label EXTRACTOR-dtls_srtp, split by the negotiated profile.
void UdpEndpoint::start_srtp(Session& s) {
  if (s.association->srtp_profile().empty() || s.srtp) return;
  auto keys = export_srtp_keys(*s.association);
  if (!keys.ok()) {
    s.srtp_error = keys.error();
    return;
  }
  auto side = s.association->role() == Role::kClient ? srtp::Side::kClient
                                                     : srtp::Side::kServer;
  auto ctx = srtp::SrtpContext::create(*keys, side, options_.srtp);
  if (!ctx.ok()) {
    s.srtp_error = ctx.error();
    return;
  }
  s.srtp = std::move(ctx).value();
}

Result<size_t> UdpEndpoint::send_media(const PeerAddress& peer, PacketKind kind,
                                       std::span<const std::uint8_t> packet) {
  Session* s = find(peer);
  if (s == nullptr ||
      s->association->state() != DtlsAssociation::State::kOpen) {
    return make_error("ERR_DTLS_SESSION_NOT_OPEN",
                      "no open session with " + peer.to_string());
  }
  if (!s->srtp) {
    if (s->srtp_error) return *s->srtp_error;
    return make_error("ERR_SRTP_NOT_NEGOTIATED",
                      "the handshake agreed on no SRTP profile");
  }
  if (packet.size() > media_out_.size - srtp::kMaxTrailer) {
    return make_error("ERR_SRTP_PACKET_TOO_LARGE",
                      "a packet of " + std::to_string(packet.size()) +
                          " bytes does not fit in one datagram");
  }
  // A packet too large for a batch slot goes alone (after the batch).
  if (corked_ > 0 &&
      packet.size() + srtp::kMaxTrailer <= SendBatch::kSlotSize) {
    auto r = send_media_corked(destination(peer, *s), *s, kind, packet);
    if (s->srtp->key_limit_reached()) end_for_key_limit(peer);
    return r;
  }
  // Copied once into the endpoint's buffer and protected there: the caller's
  // packet stays as it was, and nothing is allocated.
  auto r = protect_into(*s, kind, packet, media_out_.span());
  if (!r.ok()) {
    if (s->srtp->key_limit_reached()) end_for_key_limit(peer);
    return r.error();
  }
  if (int e = send_datagram(destination(peer, *s), media_out_.span().first(*r));
      e != 0) {
    // The backpressure signal: the kernel is full and so is our queue.
    if (e == UV_ENOBUFS) {
      return make_error("ERR_SEND_QUEUE_FULL",
                        "the socket and the send queue are full; the packet "
                        "was dropped");
    }
    return make_error("ERR_SOCKET_SEND", std::string("the socket refused the "
                                                     "packet: ") +
                                             uv_strerror(e));
  }
  return *r;
}

Result<size_t> UdpEndpoint::send_media_corked(
    const PeerAddress& to, Session& s, PacketKind kind,
    std::span<const std::uint8_t> packet) {
  // The backpressure signal stays immediate: the queue is full now.
  if (uv_udp_get_send_queue_count(&udp_) >= options_.max_queued_sends) {
    drop_for_full_queue();
    return make_error("ERR_SEND_QUEUE_FULL",
                      "the socket and the send queue are full; the packet "
                      "was dropped");
  }
  if (!batch_) {
    batch_ = std::make_unique<SendBatch>();
    batch_->set_segmentation(options_.segment_sends);
  }
  if (batch_->full()) flush_batch();
  // Protected in place in the batch: still one copy, no allocation.
  auto r = protect_into(s, kind, packet, batch_->next_slot());
  if (!r.ok()) return r.error();
  batch_->commit(*r, connected_ ? nullptr : to.sockaddr_ptr());
  return *r;
}

Result<size_t> UdpEndpoint::protect_into(Session& s, PacketKind kind,
                                         std::span<const std::uint8_t> packet,
                                         std::span<std::uint8_t> buffer) {
  std::copy(packet.begin(), packet.end(), buffer.begin());
  srtp::PacketResult r = kind == PacketKind::kRtcp
                             ? s.srtp->protect_rtcp(buffer, packet.size())
                             : s.srtp->protect_rtp(buffer, packet.size());
  if (!r.ok()) {
    return make_error(srtp::packet_status_code(r.status),
                      std::string("cannot protect this ") +
                          (kind == PacketKind::kRtcp ? "RTCP" : "RTP") +
                          " packet");
  }
  return r.length;
}

// RFC 3711 §9.2: a master key past its hard limit is not used again, and a
// DTLS-SRTP session here never re-keys (renegotiation is refused), so the
// session ends: close_notify to the peer, ERR_SRTP_KEY_LIMIT to ours.
void UdpEndpoint::end_for_key_limit(const PeerAddress& peer) {
  if (Session* s = find(peer)) {
    s->association->close();
    while (s->association->pop_datagram(out_))
      send_datagram(destination(peer, *s), out_);
  }
  destroy_session(
      peer, make_error("ERR_SRTP_KEY_LIMIT",
                       "an SRTP master key reached its packet limit (RFC 3711 "
                       "§9.2) and the session cannot re-key"));
}

void UdpEndpoint::uncork() {
  if (corked_ == 0) return;
  if (--corked_ == 0) flush_batch();
}

void UdpEndpoint::flush_batch() {
  if (!batch_ || batch_->empty()) return;
  SendBatch& b = *batch_;
  size_t i = 0;
  uv_os_fd_t fd = -1;
  if (released_ || uv_fileno(reinterpret_cast<uv_handle_t*>(&udp_), &fd) != 0) {
    stats_.send_errors += b.size();
    b.clear();
    return;
  }
  // Behind datagrams already waiting in libuv's queue, never ahead of them.
  const bool queue_first =
      options_.always_queue_sends || uv_udp_get_send_queue_count(&udp_) > 0;
  while (i < b.size() && !queue_first) {
    SendBatch::Sent sent = b.send(fd, i);
    stats_.send_batches++;
    for (size_t k = 0; k < sent.count; ++k)
      count_sent(b.datagram(i + k).size());
    i += sent.count;
    if (sent.error == 0) continue;
    if (sent.error == -EAGAIN || sent.error == -EWOULDBLOCK) break;
    // This datagram is refused (e.g. ECONNREFUSED from an earlier ICMP
    // error on a connected socket); the rest still go.
    stats_.send_errors++;
    if (connected_ && ends_connection(sent.error)) {
      pending_socket_error_ = sent.error;
    }
    ++i;
  }
  // The kernel pushed back: the rest wait in libuv's queue, bounded.
  for (; i < b.size(); ++i) {
    if (uv_udp_get_send_queue_count(&udp_) >= options_.max_queued_sends) {
      drop_for_full_queue();
      continue;
    }
    send_queued(b.destination(i), b.datagram(i));
  }
  b.clear();
}

const srtp::MediaCounters* UdpEndpoint::media_counters(
    const PeerAddress& peer) {
  Session* s = find(peer);
  return s && s->srtp ? &s->srtp->counters() : nullptr;
}

srtp::SrtpContext* UdpEndpoint::srtp_context(const PeerAddress& peer) {
  Session* s = find(peer);
  return s ? s->srtp.get() : nullptr;
}

void UdpEndpoint::finished(const PeerAddress& peer, const Session& s) {
  static const srtp::MediaCounters kNone;
  // A WebRTC transport ends with its DTLS association (RFC 8842 §5): later
  // checks for its ufrag are refused.
  if (s.ice != nullptr) forget_ice(s.ice);
  if (callbacks_.on_finished) {
    callbacks_.on_finished(peer, *s.association,
                           s.srtp ? s.srtp->counters() : kNone);
  }
}

Status UdpEndpoint::connect(const PeerAddress& peer,
                            AssociationOptions options) {
  if (closing_)
    return make_error("ERR_INVALID_STATE", "the endpoint is closing");
  if (find(peer)) {
    return make_error("ERR_DTLS_SESSION_EXISTS",
                      "a session to " + peer.to_string() + " exists");
  }
  if (connected_ && *connected_ != peer) {
    return make_error(
        "ERR_INVALID_STATE",
        "this endpoint's socket is connected to " + connected_->to_string());
  }
  auto a = DtlsAssociation::connect(options_.context, std::move(options),
                                    Clock::now());
  if (!a.ok()) return a.error();
  if (options_.connect_socket && !connected_) {
    if (int r = uv_udp_connect(&udp_, peer.sockaddr_ptr()); r != 0) {
      return make_error("ERR_SOCKET", "cannot connect the socket to " +
                                          peer.to_string() + ": " +
                                          uv_strerror(r));
    }
    connected_ = peer;
  }
  add(peer, std::move(a).value());
  stats_.client_sessions++;
  after(peer);
  return {};
}

Result<size_t> UdpEndpoint::send(const PeerAddress& peer,
                                 std::span<const std::uint8_t> message) {
  Session* s = find(peer);
  if (s == nullptr) {
    return make_error("ERR_DTLS_SESSION_NOT_OPEN",
                      "no session with " + peer.to_string());
  }
  auto r = s->association->send(message);
  after(peer);
  return r;
}

void UdpEndpoint::close_session(const PeerAddress& peer) {
  if (Session* s = find(peer)) {
    s->association->close();
    after(peer);
  }
}

void UdpEndpoint::destroy_session(const PeerAddress& peer,
                                  std::optional<Error> error) {
  auto it = sessions_.find(peer);
  if (it == sessions_.end()) return;
  // Out of the tables before any callback, which may call back in.
  Session s = std::move(it->second);
  sessions_.erase(it);
  deadlines_.erase(s.id);
  by_id_.erase(s.id);
  forget_half_open(peer);
  rearm();
  if (error && callbacks_.on_event) {
    callbacks_.on_event(peer, DtlsEvent{DtlsEvent::Type::kError, {}, *error});
  }
  finished(peer, s);
}

DtlsAssociation* UdpEndpoint::association(const PeerAddress& peer) {
  Session* s = find(peer);
  return s ? s->association.get() : nullptr;
}

// Flushes one association: its datagrams to the socket, its events to the
// callback, its deadline to the queue; and forgets it once it has finished.
void UdpEndpoint::after(const PeerAddress& peer) {
  Session* s = find(peer);
  if (s == nullptr) return;
  DtlsAssociation* a = s->association.get();
  while (a->pop_datagram(out_)) send_datagram(destination(peer, *s), out_);
  std::vector<DtlsEvent> events;
  DtlsEvent e;
  while (a->pop_event(e)) {
    // Keys first, so that a handshake callback can send media at once.
    if (e.type == DtlsEvent::Type::kHandshakeComplete) start_srtp(*s);
    events.push_back(std::move(e));
  }
  const DeadlineQueue::Id id = s->id;
  std::optional<Session> done;
  if (a->state() == DtlsAssociation::State::kClosed ||
      a->state() == DtlsAssociation::State::kFailed) {
    done = std::move(*s);
    deadlines_.erase(id);
    by_id_.erase(id);
    sessions_.erase(peer);  // `s` is gone from here on; `done` keeps it
    forget_half_open(peer);
  } else {
    deadlines_.set(id, a->next_deadline());
    if (a->state() != DtlsAssociation::State::kHandshaking) {
      forget_half_open(peer);
    } else if (a->handshake_steps() != s->steps_seen) {
      // A step of the handshake (a message of the peer's read, or our next
      // flight): the no-progress clock starts again, and the oldest-first
      // order of replacement follows.
      s->steps_seen = a->handshake_steps();
      if (half_open_.contains(peer)) {
        half_open_.add(peer, Clock::now());
        deadlines_.set(half_open_id_, half_open_.next_deadline());
      }
    }
  }
  // Callbacks last: they may call back into the endpoint (send, connect,
  // close). A finished association's events come first, then on_finished with
  // its final state.
  for (const DtlsEvent& ev : events) {
    if (callbacks_.on_event) callbacks_.on_event(peer, ev);
  }
  if (done) finished(peer, *done);
  rearm();
  if (pending_socket_error_ != 0) {
    on_socket_error(std::exchange(pending_socket_error_, 0));
  }
}

void UdpEndpoint::timer_cb(uv_timer_t* t) {
  static_cast<UdpEndpoint*>(t->data)->on_timer();
}

void UdpEndpoint::rotate_cb(uv_timer_t* t) {
  auto* self = static_cast<UdpEndpoint*>(t->data);
  if (!self->gate_) return;
  if (!self->options_.cookie_master_secret) {
    self->gate_->rotate();
    return;
  }
  const std::uint64_t period = self->cookie_period();
  if (period == self->cookie_period_) return;
  self->cookie_period_ = period;
  self->gate_->rotate(
      CookieGate::derive_secret(*self->options_.cookie_master_secret, period));
}

void UdpEndpoint::on_timer() {
  const TimePoint now = Clock::now();
  // Collect first: handling a timeout sets a new deadline, which must wait for
  // the next run.
  std::vector<DeadlineQueue::Id> due;
  while (auto id = deadlines_.pop_due(now)) due.push_back(*id);
  for (DeadlineQueue::Id id : due) {
    if (id == half_open_id_) {
      expire_half_open(now);
      if (closing_ || released_) break;
      continue;
    }
    auto it = by_id_.find(id);
    if (it == by_id_.end()) {
      if (auto ice = ice_by_id_.find(id); ice != ice_by_id_.end())
        check_consent(*ice->second, now);
      continue;
    }
    PeerAddress peer = it->second;
    if (Session* s = find(peer)) {
      s->association->handle_timeout(now);
      after(peer);
    }
  }
  rearm();
}

void UdpEndpoint::rearm() {
  if (released_) return;
  auto next = deadlines_.next();
  if (!next) {
    uv_timer_stop(&timer_);
    return;
  }
  auto ms = std::chrono::ceil<std::chrono::milliseconds>(*next - Clock::now())
                .count();
  uv_timer_start(&timer_, timer_cb,
                 static_cast<std::uint64_t>(std::max<long long>(ms, 0)), 0);
}

int UdpEndpoint::send_datagram(const PeerAddress& to,
                               std::span<const std::uint8_t> data) {
  if (released_) return UV_EBADF;
  // Media gathered so far leaves first: datagrams keep their order.
  if (batch_ && !batch_->empty()) flush_batch();
  // A connected socket takes no destination (libuv answers EISCONN).
  const sockaddr* dest = connected_ ? nullptr : to.sockaddr_ptr();
  uv_buf_t buf =
      uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(data.data())),
                  static_cast<unsigned>(data.size()));
  // Straight to the kernel when it has room; a copy waits in libuv's queue only
  // when it pushes back (EAGAIN), and is counted sent when it has left.
  int r = options_.always_queue_sends ? UV_EAGAIN
                                      : uv_udp_try_send(&udp_, &buf, 1, dest);
  if (r == UV_EAGAIN) {
    // Bounded: past max_queued_sends the datagram is dropped and the caller
    // told (media: ERR_SEND_QUEUE_FULL; DTLS recovers by retransmission).
    if (uv_udp_get_send_queue_count(&udp_) >= options_.max_queued_sends) {
      drop_for_full_queue();
      return UV_ENOBUFS;
    }
    return send_queued(dest, data);
  }
  if (r < 0) {
    stats_.send_errors++;
    if (connected_ && ends_connection(r)) pending_socket_error_ = r;
    return r;
  }
  count_sent(data.size());
  return 0;
}

int UdpEndpoint::send_queued(const sockaddr* to,
                             std::span<const std::uint8_t> data) {
  stats_.sends_queued++;
  auto* req =
      new SendRequest{{}, std::vector<std::uint8_t>(data.begin(), data.end())};
  req->req.data = req;
  uv_buf_t copy = uv_buf_init(reinterpret_cast<char*>(req->data.data()),
                              static_cast<unsigned>(req->data.size()));
  if (int r = uv_udp_send(&req->req, &udp_, &copy, 1, to, send_cb); r != 0) {
    delete req;
    stats_.send_errors++;
    return r;
  }
  return 0;
}

void UdpEndpoint::send_cb(uv_udp_send_t* req, int status) {
  std::unique_ptr<SendRequest> done(static_cast<SendRequest*>(req->data));
  auto* self = static_cast<UdpEndpoint*>(req->handle->data);
  if (status >= 0) {
    self->stats_.packets_sent++;
    self->stats_.bytes_sent += done->data.size();
  } else {
    self->stats_.send_errors++;  // UV_ECANCELED: released before it left
  }
  if (uv_udp_get_send_queue_count(&self->udp_) != 0) return;
  if (self->flushing_) {
    self->release_handles();
    return;
  }
  // The backpressure signal's second half (node's 'drain'): the queue that
  // refused datagrams is empty again.
  if (self->drain_pending_ && !self->closing_ && !self->released_) {
    self->drain_pending_ = false;
    if (self->callbacks_.on_drain) self->callbacks_.on_drain();
  }
}

void UdpEndpoint::flush_timeout_cb(uv_timer_t* t) {
  static_cast<UdpEndpoint*>(t->data)->release_handles();
}

void UdpEndpoint::close() {
  if (closing_ || released_) return;
  closing_ = true;
  held_.clear();
  std::vector<PeerAddress> peers;
  for (const auto& [peer, s] : sessions_) peers.push_back(peer);
  for (const PeerAddress& peer : peers) {
    if (Session* s = find(peer)) {
      s->association->close();  // close_notify (RFC 5246 §7.2.1)
      after(peer);
    }
  }
  release_when_flushed();
}

// Closing the socket would cancel what waits in libuv's send queue (the
// close_notify alerts among it), so the release waits for the queue to empty,
// bounded by close_flush_timeout.
void UdpEndpoint::release_when_flushed() {
  if (released_ || flushing_) return;
  if (uv_udp_get_send_queue_count(&udp_) == 0) {
    release_handles();
    return;
  }
  flushing_ = true;
  uv_timer_stop(&timer_);
  uv_timer_stop(&rotate_timer_);
  uv_timer_start(
      &rotate_timer_, flush_timeout_cb,
      static_cast<std::uint64_t>(options_.close_flush_timeout.count()), 0);
}

void UdpEndpoint::destroy(std::optional<Error> error) {
  if (released_) return;
  closing_ = true;
  // Out of the tables before any callback, which may call back in.
  auto sessions = std::move(sessions_);
  sessions_.clear();
  by_id_.clear();
  // Kept alive until the sessions' callbacks have run.
  auto ice_sessions = std::move(ice_sessions_);
  ice_sessions_.clear();
  ice_by_address_.clear();
  ice_by_id_.clear();
  held_.clear();
  deadlines_ = DeadlineQueue();
  half_open_ = HalfOpenTable(options_.half_open);
  release_handles();
  for (const auto& [peer, session] : sessions) {
    if (error && callbacks_.on_event) {
      callbacks_.on_event(peer, DtlsEvent{DtlsEvent::Type::kError, {}, *error});
    }
    finished(peer, session);
  }
}

// --- ICE-lite (RFC 8445 §2.5) ---

UdpEndpoint::Session* UdpEndpoint::route(const PeerAddress& from,
                                         PeerAddress& key) {
  if (Session* s = find(from)) {
    key = from;
    return s;
  }
  // RFC 8445 §11.1: media may come from any validated address of the session
  // (until the nomination settles, and after the peer moves).
  if (ice_by_address_.empty()) return nullptr;
  auto it = ice_by_address_.find(from);
  if (it == ice_by_address_.end() || !it->second->key) return nullptr;
  key = *it->second->key;
  return find(key);
}

const PeerAddress& UdpEndpoint::destination(const PeerAddress& key,
                                            const Session& s) const {
  // RFC 8445 §12.1: once nominated, media goes over the selected pair.
  if (s.ice != nullptr && s.ice->responder.selected())
    return *s.ice->responder.selected();
  return key;
}

PeerAddress UdpEndpoint::remote_of(const PeerAddress& key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? key : destination(key, it->second);
}

Status UdpEndpoint::add_ice_session(IceSessionOptions options) {
  if (!options_.ice_lite) {
    return make_error("ERR_INVALID_STATE",
                      "ICE sessions need an ICE-lite endpoint "
                      "(UdpEndpointOptions::ice_lite)");
  }
  if (closing_)
    return make_error("ERR_INVALID_STATE", "the endpoint is closing");
  if (Status st = validate_ice_credentials(options.local); !st.ok()) return st;
  if (!options.remote_ufrag.empty()) {
    if (Status st = validate_ice_credentials({options.remote_ufrag, ""}, false);
        !st.ok()) {
      return st;
    }
  }
  if (Status st = validate_association_options(options.association); !st.ok())
    return st;
  if (options.consent_timeout < std::chrono::milliseconds(1) ||
      options.consent_timeout > std::chrono::hours(1)) {
    return make_error("ERR_OUT_OF_RANGE",
                      "consent_timeout must be 1 ms..1 h, got " +
                          std::to_string(options.consent_timeout.count()) +
                          " ms");
  }
  if (options.max_addresses < 1 || options.max_addresses > 64) {
    return make_error("ERR_OUT_OF_RANGE", "max_addresses must be 1..64");
  }
  const std::string ufrag = options.local.ufrag;
  if (ice_sessions_.count(ufrag) != 0) {
    return make_error("ERR_ICE_UFRAG_IN_USE",
                      "an ICE session with ufrag " + ufrag + " exists");
  }
  IceLiteResponder::Options ro{options.local, options.remote_ufrag,
                               options.max_addresses};
  const TimePoint now = Clock::now();
  auto ice = std::make_unique<IceSession>(
      IceSession{std::move(options), IceLiteResponder(std::move(ro)),
                 next_id_++, now, std::nullopt});
  ice_by_id_[ice->consent_id] = ice.get();
  deadlines_.set(ice->consent_id, now + ice->options.consent_timeout);
  ice_sessions_.emplace(ufrag, std::move(ice));
  rearm();
  return {};
}

void UdpEndpoint::remove_ice_session(const std::string& ufrag) {
  auto it = ice_sessions_.find(ufrag);
  if (it == ice_sessions_.end()) return;
  if (it->second->key) {
    close_session(*it->second->key);  // forgotten when it finishes
    return;
  }
  forget_ice(it->second.get());
}

const IceLiteResponder* UdpEndpoint::ice_responder(
    const std::string& ufrag) const {
  auto it = ice_sessions_.find(ufrag);
  return it == ice_sessions_.end() ? nullptr : &it->second->responder;
}

void UdpEndpoint::forget_ice(IceSession* ice) {
  auto it = ice_sessions_.find(ice->options.local.ufrag);
  if (it == ice_sessions_.end() || it->second.get() != ice) return;
  for (const PeerAddress& a : ice->responder.valid_addresses()) {
    auto at = ice_by_address_.find(a);
    if (at != ice_by_address_.end() && at->second == ice)
      ice_by_address_.erase(at);
  }
  deadlines_.erase(ice->consent_id);
  ice_by_id_.erase(ice->consent_id);
  if (ice->key) {
    if (auto s = sessions_.find(*ice->key);
        s != sessions_.end() && s->second.ice == ice) {
      s->second.ice = nullptr;
    }
  }
  ice_sessions_.erase(it);
  rearm();
}

void UdpEndpoint::ice_event(IceSession& ice, IceEvent event) {
  if (!callbacks_.on_ice) return;
  const std::string ufrag = ice.options.local.ufrag;  // `ice` may go
  callbacks_.on_ice(ufrag, event);
}

void UdpEndpoint::on_stun(std::span<const std::uint8_t> data,
                          const PeerAddress& peer, TimePoint now) {
  auto m = stun::Message::parse(data);
  if (!options_.ice_lite || !m || m->message_class() != stun::Class::kRequest ||
      m->method() != stun::kMethodBinding) {
    stats_.stun_dropped++;
    return;
  }
  auto ufrag = local_ufrag(*m);
  auto it =
      ufrag ? ice_sessions_.find(std::string(*ufrag)) : ice_sessions_.end();
  if (it == ice_sessions_.end()) {
    // RFC 8489 §9.1.3: no USERNAME is 400, a USERNAME nobody owns 401. Never
    // larger than the request: a spoofed source gains nothing.
    if (m->has_fingerprint() && !m->check_fingerprint()) {
      stats_.stun_dropped++;
      return;
    }
    stats_.stun_errors++;
    auto r = IceLiteResponder::reject(
        *m, m->username() && m->has_integrity() ? 401 : 400);
    if (r && r->bytes().size() <= data.size()) send_datagram(peer, r->bytes());
    return;
  }
  IceSession& ice = *it->second;
  IceLiteResponder::Reply reply = ice.responder.handle(*m, peer, now);
  if (reply.response) send_datagram(peer, reply.response->bytes());
  if (reply.outcome != IceLiteResponder::Outcome::kSuccess) {
    (reply.outcome == IceLiteResponder::Outcome::kError
         ? stats_.stun_errors
         : stats_.stun_dropped)++;
    return;
  }
  stats_.stun_checks++;
  if (reply.evicted) {
    auto at = ice_by_address_.find(*reply.evicted);
    if (at != ice_by_address_.end() && at->second == &ice)
      ice_by_address_.erase(at);
  }
  ice_by_address_[peer] = &ice;
  // RFC 7675 §5.1: a valid check on the pair in use refreshes consent.
  if (auto last = ice.responder.last_consent()) {
    deadlines_.set(ice.consent_id, *last + ice.options.consent_timeout);
    rearm();
  }
  const std::string name = ice.options.local.ufrag;
  auto still = [&]() -> IceSession* {
    auto i = ice_sessions_.find(name);
    return i == ice_sessions_.end() || closing_ ? nullptr : i->second.get();
  };
  if (reply.nominated) ice_event(ice, {IceEvent::Type::kNominated, peer, {}});
  if (reply.new_address) {
    if (IceSession* i = still())
      ice_event(*i, {IceEvent::Type::kChecked, peer, {}});
  }
  IceSession* i = still();
  if (i == nullptr) return;
  // RFC 5763 §5 with a=setup:active on our side: our ClientHello goes to the
  // first address that passed a check.
  if (i->options.dtls_client && !i->key && find(peer) == nullptr) {
    auto a =
        DtlsAssociation::connect(options_.context, i->options.association, now);
    if (!a.ok()) {
      const Error e = a.error();
      forget_ice(i);
      if (callbacks_.on_ice)
        callbacks_.on_ice(name, {IceEvent::Type::kFailed, peer, e});
      return;
    }
    Session& s = add(peer, std::move(a).value());
    s.ice = i;
    i->key = peer;
    stats_.client_sessions++;
    ice_event(*i, {IceEvent::Type::kSessionStarted, peer, {}});
    after(peer);
    return;
  }
  if (reply.new_address) replay_held(peer, now);
}

void UdpEndpoint::on_ice_dtls(std::span<const std::uint8_t> data,
                              const PeerAddress& peer, TimePoint now) {
  PeerAddress key;
  if (Session* s = route(peer, key)) {
    s->association->handle_datagram(data, now);
    after(key);
    return;
  }
  auto it = ice_by_address_.find(peer);
  if (it == ice_by_address_.end()) {
    hold(data, peer, now);
    return;
  }
  IceSession* ice = it->second;
  // One association per ICE session; and with a=setup:active on our side
  // the peer does not get to start one.
  if (ice->key || ice->options.dtls_client) return;
  // The check proved the address, but the cookie exchange stays: it costs
  // the peer one round trip and keeps one code path for all handshakes.
  auto cookie = check_cookie(data, peer, now);
  if (!cookie) return;
  const std::string ufrag = ice->options.local.ufrag;
  Session* s = accept_hello(data, *cookie, peer, ice->options.association, now);
  if (s == nullptr) return;
  // A replaced half-open handshake's callbacks may have removed this ICE
  // session meanwhile.
  auto still = ice_sessions_.find(ufrag);
  if (still == ice_sessions_.end() || still->second.get() != ice || ice->key) {
    destroy_session(peer);
    return;
  }
  s->ice = ice;
  ice->key = peer;
  ice_event(*ice, {IceEvent::Type::kSessionStarted, peer, {}});
  after(peer);
}

void UdpEndpoint::hold(std::span<const std::uint8_t> data,
                       const PeerAddress& from, TimePoint now) {
  // Only what can start a handshake: epoch-0 handshake records.
  auto record = parse_record_header(data);
  if (!record || record->content_type != kContentHandshake ||
      record->epoch != 0 || options_.ice_hold_datagrams == 0) {
    return;
  }
  while (!held_.empty() && (now - held_.front().at > options_.ice_hold_time ||
                            held_.size() >= options_.ice_hold_datagrams)) {
    held_.pop_front();
  }
  held_.push_back({from, now, {data.begin(), data.end()}});
  stats_.ice_held++;
}

void UdpEndpoint::replay_held(const PeerAddress& from, TimePoint now) {
  std::vector<std::vector<std::uint8_t>> mine;
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->from == from) {
      if (now - it->at <= options_.ice_hold_time)
        mine.push_back(std::move(it->data));
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& d : mine) {
    if (closing_) return;
    stats_.ice_replayed++;
    on_dtls(d, from, now);
  }
}

void UdpEndpoint::check_consent(IceSession& ice, TimePoint now) {
  const TimePoint deadline =
      ice.responder.last_consent().value_or(ice.created) +
      ice.options.consent_timeout;
  if (now < deadline) {
    deadlines_.set(ice.consent_id, deadline);
    return;
  }
  stats_.ice_consent_expired++;
  const Error e =
      make_error("ERR_ICE_CONSENT_EXPIRED",
                 "no valid ICE check for " + ice.options.local.ufrag + " in " +
                     std::to_string(ice.options.consent_timeout.count()) +
                     " ms: the peer withdrew consent (RFC 7675 §5.1)");
  if (ice.key) {
    destroy_session(*ice.key, e);  // forgets `ice` too
    return;
  }
  const std::string ufrag = ice.options.local.ufrag;
  forget_ice(&ice);
  if (callbacks_.on_ice)
    callbacks_.on_ice(ufrag, {IceEvent::Type::kFailed, {}, e});
}

void UdpEndpoint::release_handles() {
  released_ = true;
  flushing_ = false;
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&poll_),
                         reinterpret_cast<uv_handle_t*>(&udp_),
                         reinterpret_cast<uv_handle_t*>(&timer_),
                         reinterpret_cast<uv_handle_t*>(&rotate_timer_)}) {
    if (h->loop != nullptr && h->data == this && !uv_is_closing(h))
      uv_close(h, close_cb);
  }
  // uv_close has stopped the poll handle: its descriptor may go now.
  if (poll_fd_ >= 0) {
    ::close(poll_fd_);
    poll_fd_ = -1;
  }
}

void UdpEndpoint::close_cb(uv_handle_t* h) {
  auto* self = static_cast<UdpEndpoint*>(h->data);
  if (--self->open_handles_ > 0) return;
  // The last handle is closed: nothing in libuv points at us any more.
  if (self->callbacks_.on_closed) self->callbacks_.on_closed();
  std::shared_ptr<UdpEndpoint> keep = std::move(self->self_);
}

}  // namespace dtls
