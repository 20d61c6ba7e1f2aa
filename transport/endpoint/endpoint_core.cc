#include "transport/endpoint/endpoint_core.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <string>
#include <utility>

#include "transport/base/prefetch.h"
#include "transport/dtls/dtls_record.h"
#include "transport/dtls/srtp_keying.h"

namespace dtls {

Status DatagramSink::before_connect(const PeerAddress&) { return {}; }

int DatagramSink::forward(PortDirectory::Member, const PeerAddress&,
                          std::span<const std::uint8_t>) {
  return -EOPNOTSUPP;
}

std::string DatagramSink::describe(int error) const {
  return std::strerror(-error);
}

EndpointCore::EndpointCore(EndpointCoreOptions options, Callbacks callbacks,
                           DatagramSink& sink, TimePoint now)
    : options_(std::move(options)),
      callbacks_(std::move(callbacks)),
      sink_(sink),
      ice_(options_.ice_hold_time, options_.ice_hold_datagrams),
      half_open_id_(next_id_++),
      consent_id_(next_id_++),
      rotation_id_(next_id_++),
      forward_id_(next_id_++),
      half_open_(options_.half_open),
      forwards_(options_.forward_timeout, options_.max_forwarded_addresses),
      rtt_cache_(options_.rtt_cache ? options_.rtt_cache
                                    : std::make_shared<RttCache>()) {
  if (!options_.accept_incoming && !options_.ice_lite) return;
  if (options_.cookie_master_secret) {
    cookie_period_ = cookie_period(now);
    gate_.emplace(CookieGate::derive_secret(*options_.cookie_master_secret,
                                            cookie_period_));
  } else {
    gate_.emplace();
  }
  if (options_.accept_incoming)
    deadlines_.set(rotation_id_, now + rotation_interval());
}

EndpointCore::~EndpointCore() {
  if (!options_.port_directory) return;
  for (const auto& [ufrag, ice] : ice_.take_all()) release_ufrag(ufrag);
}

std::uint64_t EndpointCore::cookie_period(TimePoint now) const {
  const auto period = std::max<std::chrono::milliseconds::rep>(
      1, options_.cookie_rotation.count());
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          now.time_since_epoch())
          .count() /
      period);
}

Duration EndpointCore::rotation_interval() const {
  auto period = std::max<std::chrono::milliseconds::rep>(
      1, options_.cookie_rotation.count());
  // With a shared master, rotation follows the period number (a clock all
  // workers share); checking 8 times a period keeps any worker at most an
  // eighth of a period behind the others.
  if (options_.cookie_master_secret)
    period = std::max<std::chrono::milliseconds::rep>(1, period / 8);
  return std::chrono::milliseconds(period);
}

void EndpointCore::rotate_cookie(TimePoint now) {
  deadlines_.set(rotation_id_, now + rotation_interval());
  if (!gate_) return;
  if (!options_.cookie_master_secret) {
    gate_->rotate();
    return;
  }
  const std::uint64_t period = cookie_period(now);
  if (period == cookie_period_) return;
  cookie_period_ = period;
  gate_->rotate(
      CookieGate::derive_secret(*options_.cookie_master_secret, period));
}

EndpointCore::Session* EndpointCore::find(const PeerAddress& peer) {
  Entry* entry = find(peer, nullptr);
  return entry ? &entry->second : nullptr;
}

EndpointCore::Entry* EndpointCore::find(const PeerAddress& peer,
                                        MediaRoute* route) {
  // Nodes of an unordered_map stay where they are until erased, and every
  // erase moves removals_.
  if (route != nullptr && route->core == this && route->removals == removals_)
    return static_cast<Entry*>(const_cast<void*>(route->session));
  auto it = sessions_.find(peer);
  if (it == sessions_.end()) return nullptr;
  // A miss is not kept: the session may be added later without a removal.
  if (route != nullptr) *route = {this, &*it, removals_};
  return &*it;
}

void EndpointCore::erase_session(const PeerAddress& peer) {
  if (sessions_.erase(peer) != 0) ++removals_;
}

EndpointCore::Session& EndpointCore::add(const PeerAddress& peer,
                                         std::unique_ptr<DtlsAssociation> a) {
  DeadlineQueue::Id id = next_id_++;
  by_id_[id] = peer;
  // Associations only get datagrams from this endpoint, which outlives them.
  a->share_record_drops(&stats_.record_drops);
  a->count_release_in(&stats_.sessions_released);
  return sessions_.emplace(peer, Session(id, std::move(a))).first->second;
}

bool EndpointCore::handle_datagram(std::span<std::uint8_t> data,
                                   const PeerAddress& from, TimePoint now) {
  stats_.packets_received++;
  stats_.bytes_received += data.size();
  PacketKind kind = classify(data);
  stats_.demux.count(kind);
  return dispatch(data, kind, from, now);
}

bool EndpointCore::handle_forwarded(std::span<std::uint8_t> data,
                                    const PeerAddress& from, TimePoint now) {
  stats_.forwarded_in++;
  forwarded_in_ = true;
  const bool ours = dispatch(data, classify(data), from, now);
  forwarded_in_ = false;
  return ours;
}

bool EndpointCore::dispatch(std::span<std::uint8_t> data, PacketKind kind,
                            const PeerAddress& from, TimePoint now) {
  if (closing_) return false;
  if (kind != PacketKind::kDtls && kind != PacketKind::kRtp &&
      kind != PacketKind::kRtcp && kind != PacketKind::kStun) {
    return false;  // RFC 7983: ZRTP, TURN channels and the rest are not ours
  }
  if (from.empty()) return false;
  if (kind == PacketKind::kRtp || kind == PacketKind::kRtcp) {
    on_media(data, kind, from, now);
  } else if (kind == PacketKind::kStun) {
    on_stun(data, from, now);
  } else {
    on_dtls(data, from, now);
  }
  return true;
}

void EndpointCore::on_dtls(std::span<const std::uint8_t> data,
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
      after(peer, now);
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
  after(peer, now);
}

// RFC 6347 §4.2.1: a hello without a fresh cookie of ours gets a
// HelloVerifyRequest and no state; the verified cookie otherwise.
std::optional<CookieGate::Decision> EndpointCore::check_cookie(
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

EndpointCore::Session* EndpointCore::accept_hello(
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
    if (closing_ || find(peer) != nullptr) return nullptr;
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

void EndpointCore::forget_half_open(const PeerAddress& peer) {
  if (!half_open_.contains(peer)) return;
  half_open_.remove(peer);
  deadlines_.set(half_open_id_, half_open_.next_deadline());
}

void EndpointCore::expire_half_open(TimePoint now) {
  while (auto peer = half_open_.pop_expired(now)) {
    stats_.half_open_expired++;
    destroy_session(
        *peer,
        make_error("ERR_DTLS_HANDSHAKE_TIMEOUT",
                   "the peer did not answer our first flight within " +
                       std::to_string(half_open_.limits().timeout.count()) +
                       " ms"));
    if (closing_) return;
  }
  deadlines_.set(half_open_id_, half_open_.next_deadline());
}

// SRTP and SRTCP (RFC 7983: first byte 128..191; RFC 5761 §4 splits them by
// payload type), unprotected in place in the receive buffer.
void EndpointCore::on_media(std::span<std::uint8_t> data, PacketKind kind,
                            const PeerAddress& peer, TimePoint now) {
  PeerAddress key;
  const ForwardTable::Entry* handed = nullptr;
  Session* s = route(peer, key, &handed);
  if (s == nullptr) {
    if (handed != nullptr) {
      forward(handed->member, data, peer);
    } else {
      stats_.media_without_session++;
    }
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
  // Authenticated media proves the peer is there (idle_timeout); the first
  // packet may arm media_idle_timeout, a deadline to schedule.
  if (r.ok() && s->association->note_media(now))
    deadlines_.set(s->id, s->association->next_deadline());
  // Failures are counted by the context and never delivered.
  if (r.ok() && callbacks_.on_media) {
    callbacks_.on_media(key, kind, data.first(r.length));
  }
}

// RFC 5764 §4.2: the SRTP master keys come from the RFC 5705 exporter with
// the label EXTRACTOR-dtls_srtp, split by the negotiated profile.
void EndpointCore::start_srtp(Session& s) {
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

Result<size_t> EndpointCore::send_media(const PeerAddress& peer,
                                        PacketKind kind,
                                        std::span<const std::uint8_t> packet,
                                        TimePoint, const RtpRewrite* rewrite,
                                        MediaRoute* route) {
  Entry* entry = find(peer, route);
  Session* s = entry ? &entry->second : nullptr;
  assert(s == nullptr ||
         s->open == (s->association->state() == DtlsAssociation::State::kOpen));
  // Error branches are marked unlikely so that the compiler keeps them out
  // of the send's code: a fan-out runs it per subscriber, between the
  // cipher's, and what it does not jump over it does not fetch.
  if (s == nullptr || !s->open) [[unlikely]] {
    // Media errors carry no message of their own: a dropped packet
    // allocates nothing (the code's default message says it).
    return make_error(Errc::kDtlsSessionNotOpen);
  }
  if (!s->srtp) [[unlikely]] {
    if (s->srtp_error) return *s->srtp_error;
    return make_error(Errc::kSrtpNotNegotiated);
  }
  if (packet.size() > kMaxMediaPacket) [[unlikely]] {
    return make_error(Errc::kSrtpPacketTooLarge);
  }
  // The backpressure signal stays immediate: the queue is full now.
  std::span<std::uint8_t> buffer =
      sink_.media_buffer(packet.size() + srtp::kMaxTrailer);
  if (buffer.empty()) [[unlikely]] {
    return make_error(Errc::kSendQueueFull);
  }
  // Copied once into the sink's buffer and protected there: the caller's
  // packet stays as it was, and nothing is allocated.
  std::copy(packet.begin(), packet.end(), buffer.begin());
  if (rewrite && kind == PacketKind::kRtp &&
      !rewrite->apply(buffer.first(packet.size()))) [[unlikely]] {
    // As a packet that fails to protect: the buffer is not sent.
    return make_error(Errc::kSrtpMalformed);
  }
  srtp::PacketResult r = kind == PacketKind::kRtcp
                             ? s->srtp->protect_rtcp(buffer, packet.size())
                             : s->srtp->protect_rtp(buffer, packet.size());
  if (!r.ok()) [[unlikely]] {
    if (s->srtp->key_limit_reached()) end_for_key_limit(peer);
    return make_error(srtp::packet_status_errc(r.status));
  }
  const int e = sink_.send_media(destination(entry->first, *s), r.length);
  if (s->srtp->key_limit_reached()) [[unlikely]]
    end_for_key_limit(peer);
  if (e == DatagramSink::kSendQueueFull) [[unlikely]] {
    // The backpressure signal: the kernel is full and so is our queue.
    return make_error(Errc::kSendQueueFull);
  }
  if (e != 0) [[unlikely]] {
    return make_error("ERR_SOCKET_SEND",
                      "the socket refused the packet: " + sink_.describe(e));
  }
  return r.length;
}

void EndpointCore::prefetch_media(const MediaRoute& route, int step) const {
  // Only addresses are compared until the route is known valid: a stale
  // route's node may have been freed.
  if (route.core != this || route.removals != removals_) return;
  const auto* entry = static_cast<const Entry*>(route.session);
  if (step == 0) {
    // The key and the fields of the session a send reads, up to `open`.
    const auto* first = reinterpret_cast<const char*>(entry);
    prefetch(first,
             reinterpret_cast<const char*>(&entry->second.open + 1) - first);
    return;
  }
  const Session& s = entry->second;
  if (s.open && s.srtp) s.srtp->prefetch_protect_rtp(step - 1);
}

// RFC 3711 §9.2: a master key past its hard limit is not used again, and a
// DTLS-SRTP session here never re-keys (renegotiation is refused), so the
// session ends: close_notify to the peer, ERR_SRTP_KEY_LIMIT to ours.
void EndpointCore::end_for_key_limit(const PeerAddress& peer) {
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

const srtp::MediaCounters* EndpointCore::media_counters(
    const PeerAddress& peer) {
  Session* s = find(peer);
  return s && s->srtp ? &s->srtp->counters() : nullptr;
}

srtp::SrtpContext* EndpointCore::srtp_context(const PeerAddress& peer) {
  Session* s = find(peer);
  return s ? s->srtp.get() : nullptr;
}

void EndpointCore::finished(const PeerAddress& peer, const Session& s) {
  static const srtp::MediaCounters kNone;
  // A WebRTC transport ends with its DTLS association (RFC 8842 §5): later
  // checks for its ufrag are refused.
  if (s.ice != nullptr) forget_ice(s.ice);
  if (callbacks_.on_finished) {
    callbacks_.on_finished(peer, *s.association,
                           s.srtp ? s.srtp->counters() : kNone);
  }
}

Status EndpointCore::connect(const PeerAddress& peer,
                             AssociationOptions options, TimePoint now) {
  if (closing_)
    return make_error("ERR_INVALID_STATE", "the endpoint is closing");
  if (find(peer)) {
    return make_error("ERR_DTLS_SESSION_EXISTS",
                      "a session to " + peer.to_string() + " exists");
  }
  // RFC 8489 §6.2.1: the round trip of the last handshake with this host
  // (within 10 minutes) starts the timer, so that even a lost first
  // ClientHello is sent again after a few round trips, not the whole initial
  // timeout (RFC 9147 §5.8.2 keeps that for a flight with no RTT knowledge),
  // and never later than it.
  if (options.adaptive_retransmit && options.use_rtt_cache &&
      options.initial_rtt == std::chrono::milliseconds(0)) {
    if (auto rtt = rtt_cache_->find(peer, now)) {
      options.remembered_rtt = std::clamp<std::chrono::milliseconds>(
          std::chrono::ceil<std::chrono::milliseconds>(*rtt),
          std::chrono::milliseconds(1), AssociationOptions::kMaxKnownRtt);
    }
  }
  const bool remembered = options.remembered_rtt > std::chrono::milliseconds(0);
  auto a = DtlsAssociation::connect(options_.context, std::move(options), now);
  if (!a.ok()) return a.error();
  if (Status st = sink_.before_connect(peer); !st.ok()) return st;
  add(peer, std::move(a).value());
  stats_.client_sessions++;
  if (remembered) stats_.cached_rtt_connects++;
  after(peer, now);
  return {};
}

Result<size_t> EndpointCore::send(const PeerAddress& peer,
                                  std::span<const std::uint8_t> message,
                                  TimePoint now) {
  Session* s = find(peer);
  if (s == nullptr) {
    return make_error("ERR_DTLS_SESSION_NOT_OPEN",
                      "no session with " + peer.to_string());
  }
  auto r = s->association->send(message);
  after(peer, now);
  return r;
}

void EndpointCore::close_session(const PeerAddress& peer, TimePoint now) {
  if (Session* s = find(peer)) {
    s->association->close();
    after(peer, now);
  }
}

void EndpointCore::destroy_session(const PeerAddress& peer,
                                   std::optional<Error> error) {
  auto it = sessions_.find(peer);
  if (it == sessions_.end()) return;
  // Out of the tables before any callback, which may call back in.
  Session s = std::move(it->second);
  sessions_.erase(it);
  ++removals_;
  deadlines_.erase(s.id);
  by_id_.erase(s.id);
  forget_half_open(peer);
  if (error && callbacks_.on_event) {
    callbacks_.on_event(peer, DtlsEvent{DtlsEvent::Type::kError, {}, *error});
  }
  finished(peer, s);
}

DtlsAssociation* EndpointCore::association(const PeerAddress& peer) {
  Session* s = find(peer);
  return s ? s->association.get() : nullptr;
}

void EndpointCore::close(TimePoint now) {
  if (closing_) return;
  closing_ = true;
  ice_.clear_held();
  std::vector<PeerAddress> peers;
  for (const auto& [peer, s] : sessions_) peers.push_back(peer);
  for (const PeerAddress& peer : peers) {
    if (Session* s = find(peer)) {
      s->association->close();  // close_notify (RFC 5246 §7.2.1)
      after(peer, now);
    }
  }
}

void EndpointCore::destroy(std::optional<Error> error) {
  closing_ = true;
  // Out of the tables before any callback, which may call back in.
  auto sessions = std::move(sessions_);
  sessions_.clear();
  ++removals_;
  by_id_.clear();
  // Kept alive until the sessions' callbacks have run.
  IceLiteTable::Sessions ice_sessions = ice_.take_all();
  for (const auto& [ufrag, ice] : ice_sessions) release_ufrag(ufrag);
  deadlines_ = DeadlineQueue();
  half_open_ = HalfOpenTable(options_.half_open);
  for (const auto& [peer, session] : sessions) {
    if (error && callbacks_.on_event) {
      callbacks_.on_event(peer, DtlsEvent{DtlsEvent::Type::kError, {}, *error});
    }
    finished(peer, session);
  }
}

// Flushes one association: its datagrams to the sink, its events to the
// callback, its deadline to the queue; and forgets it once it has finished.
void EndpointCore::after(const PeerAddress& peer, TimePoint now) {
  Session* s = find(peer);
  if (s == nullptr) return;
  DtlsAssociation* a = s->association.get();
  while (a->pop_datagram(out_)) send_datagram(destination(peer, *s), out_);
  std::vector<DtlsEvent> events;
  DtlsEvent e;
  while (a->pop_event(e)) {
    // Keys first, so that a handshake callback can send media at once.
    if (e.type == DtlsEvent::Type::kHandshakeComplete) {
      start_srtp(*s);
      // Client handshakes only, as RFC 8489 §6.2.1 caches on the client: a
      // server's first sample is the cookie's age, which the client chooses
      // (up to two secret rotations), so any client could plant a round
      // trip for its address. smoothed_rtt holds only measured (or given)
      // round trips, never a remembered one stored back.
      if (a->role() == Role::kClient && a->stats().smoothed_rtt)
        rtt_cache_->note(peer, *a->stats().smoothed_rtt, now);
    }
    events.push_back(std::move(e));
  }
  const DeadlineQueue::Id id = s->id;
  std::optional<Session> done;
  if (a->state() == DtlsAssociation::State::kClosed ||
      a->state() == DtlsAssociation::State::kFailed) {
    done = std::move(*s);
    deadlines_.erase(id);
    by_id_.erase(id);
    erase_session(peer);  // `s` is gone from here on; `done` keeps it
    forget_half_open(peer);
  } else {
    s->open = a->state() == DtlsAssociation::State::kOpen;
    deadlines_.set(id, a->next_deadline());
    if (a->state() != DtlsAssociation::State::kHandshaking) {
      forget_half_open(peer);
    } else if (a->handshake_steps() != s->steps_seen) {
      // A step of the handshake (a message of the peer's read, or our next
      // flight): the no-progress clock starts again, and the oldest-first
      // order of replacement follows.
      s->steps_seen = a->handshake_steps();
      if (half_open_.contains(peer)) {
        half_open_.add(peer, now);
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
  sink_.flushed();
}

void EndpointCore::handle_timeout(TimePoint now) {
  // Collect first: handling a timeout sets a new deadline, which must wait for
  // the next run.
  std::vector<DeadlineQueue::Id> due;
  while (auto id = deadlines_.pop_due(now)) due.push_back(*id);
  for (DeadlineQueue::Id id : due) {
    if (id == half_open_id_) {
      expire_half_open(now);
      if (closing_) break;
      continue;
    }
    if (id == consent_id_) {
      expire_consent(now);
      continue;
    }
    if (id == rotation_id_) {
      rotate_cookie(now);
      continue;
    }
    if (id == forward_id_) {
      forwards_.expire(now);
      deadlines_.set(forward_id_, forwards_.next_deadline());
      continue;
    }
    auto it = by_id_.find(id);
    if (it == by_id_.end()) continue;
    PeerAddress peer = it->second;
    if (Session* s = find(peer)) {
      s->association->handle_timeout(now);
      after(peer, now);
    }
  }
}

// --- Routing ---

EndpointCore::Session* EndpointCore::route(const PeerAddress& from,
                                           PeerAddress& key,
                                           const ForwardTable::Entry** handed) {
  if (Session* s = find(from)) {
    key = from;
    return s;
  }
  // An address handed over for another member's session is that session's,
  // before any of ours that a check from it validated (forward_check).
  if (!forwards_.empty() && !forwarded_in_) {
    if (const ForwardTable::Entry* e = forwards_.find(from)) {
      *handed = e;
      return nullptr;
    }
  }
  // RFC 8445 §11.1: media may come from any validated address of the session
  // (until the nomination settles, and after the peer moves).
  IceSession* ice = ice_.by_address(from);
  if (ice == nullptr || !ice->key) return nullptr;
  key = *ice->key;
  return find(key);
}

const PeerAddress& EndpointCore::destination(const PeerAddress& key,
                                             const Session& s) const {
  // RFC 8445 §12.1: once nominated, media goes over the selected pair.
  if (s.ice != nullptr && s.ice->responder.selected())
    return *s.ice->responder.selected();
  return key;
}

PeerAddress EndpointCore::remote_of(const PeerAddress& key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? key : destination(key, it->second);
}

}  // namespace dtls
