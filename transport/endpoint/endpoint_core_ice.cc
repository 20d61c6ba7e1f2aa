// The endpoint core's ICE-lite half (RFC 8445 §2.5): STUN checks answered
// for the sessions of its IceLiteTable, DTLS taken only from addresses a check
// proved (early ClientHellos held and replayed), consent deadlines (RFC 7675).
#include <string>
#include <utility>

#include "transport/endpoint/endpoint_core.h"
#include "transport/ice/ice_lite.h"
#include "transport/ice/stun_message.h"

namespace dtls {

Status EndpointCore::add_ice_session(IceSessionOptions options, TimePoint now) {
  if (!options_.ice_lite) {
    return make_error("ERR_INVALID_STATE",
                      "ICE sessions need an ICE-lite endpoint "
                      "(UdpEndpointOptions::ice_lite)");
  }
  if (closing_)
    return make_error("ERR_INVALID_STATE", "the endpoint is closing");
  // Consent freshness (RFC 7675) tells whether an ICE peer is there, STUN
  // included: a peer with no media to send (every publisher left) still
  // answers, so media silence must not end its session.
  options.association.media_idle_timeout = std::chrono::milliseconds(0);
  if (Status st = validate_ice_session_options(options); !st.ok()) return st;
  const std::string ufrag = options.local.ufrag;
  // A ufrag this endpoint has is refused by its own table, below.
  const bool claim = options_.port_directory && ice_.find(ufrag) == nullptr;
  if (claim && !options_.port_directory->claim(ufrag, options.local.pwd,
                                               options_.port_member)) {
    return make_error("ERR_ICE_UFRAG_IN_USE",
                      "the ICE ufrag " + ufrag +
                          " is in use by another endpoint of this port");
  }
  if (Status st = ice_.add(std::move(options), now); !st.ok()) {
    if (claim) release_ufrag(ufrag);
    return st;
  }
  deadlines_.set(consent_id_, ice_.next_deadline());
  return {};
}

void EndpointCore::remove_ice_session(const std::string& ufrag, TimePoint now) {
  IceSession* ice = ice_.find(ufrag);
  if (ice == nullptr) return;
  if (ice->key) {
    close_session(*ice->key, now);  // forgotten when it finishes
    return;
  }
  forget_ice(ice);
}

const IceLiteResponder* EndpointCore::ice_responder(
    const std::string& ufrag) const {
  const IceSession* ice = ice_.find(ufrag);
  return ice == nullptr ? nullptr : &ice->responder;
}

void EndpointCore::forget_ice(IceSession* ice) {
  // After destroy() the table no longer holds it (it is only kept alive).
  if (ice_.find(ice->options.local.ufrag) != ice) return;
  release_ufrag(ice->options.local.ufrag);
  if (ice->key) {
    if (auto s = sessions_.find(*ice->key);
        s != sessions_.end() && s->second.ice == ice) {
      s->second.ice = nullptr;
    }
  }
  ice_.remove(ice);
  deadlines_.set(consent_id_, ice_.next_deadline());
}

void EndpointCore::ice_event(IceSession& ice, IceEvent event) {
  if (!callbacks_.on_ice) return;
  const std::string ufrag = ice.options.local.ufrag;  // `ice` may go
  callbacks_.on_ice(ufrag, event);
}

void EndpointCore::on_stun(std::span<const std::uint8_t> data,
                           const PeerAddress& peer, TimePoint now) {
  auto m = stun::Message::parse(data);
  if (!options_.ice_lite || !m || m->message_class() != stun::Class::kRequest ||
      m->method() != stun::kMethodBinding) {
    stats_.stun_dropped++;
    return;
  }
  auto ufrag = local_ufrag(*m);
  IceSession* found = ufrag ? ice_.find(*ufrag) : nullptr;
  if (found == nullptr && options_.port_directory && !forwarded_in_) {
    // RFC 8445 §7.3 names the session by the USERNAME's first half; on a
    // shared port the kernel may have brought its check to the wrong member.
    if (auto owner = options_.port_directory->owner(*m);
        owner && *owner != options_.port_member) {
      forward_check(*owner, *ufrag, data, peer, now);
      return;
    }
  }
  if (found == nullptr) {
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
  IceSession& ice = *found;
  IceLiteResponder::Reply reply = ice.responder.handle(*m, peer, now);
  if (reply.response) send_datagram(peer, reply.response->bytes());
  if (reply.outcome != IceLiteResponder::Outcome::kSuccess) {
    (reply.outcome == IceLiteResponder::Outcome::kError
         ? stats_.stun_errors
         : stats_.stun_dropped)++;
    return;
  }
  stats_.stun_checks++;
  // The address is this endpoint's now, unless another member's session
  // that it was first checked for still exists (see forward_check).
  if (!forwards_.empty() && !forwarded_elsewhere(peer)) {
    forwards_.erase(peer);
    deadlines_.set(forward_id_, forwards_.next_deadline());
  }
  ice_.checked(ice, peer, reply.evicted);
  deadlines_.set(consent_id_, ice_.next_deadline());
  const std::string name = ice.options.local.ufrag;
  auto still = [&]() -> IceSession* {
    return closing_ ? nullptr : ice_.find(name);
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
    after(peer, now);
    return;
  }
  if (reply.new_address) replay_held(peer, now);
}

void EndpointCore::on_ice_dtls(std::span<const std::uint8_t> data,
                               const PeerAddress& peer, TimePoint now) {
  PeerAddress key;
  const ForwardTable::Entry* handed = nullptr;
  if (Session* s = route(peer, key, &handed)) {
    s->association->handle_datagram(data, now);
    after(key, now);
    return;
  }
  if (handed != nullptr) {
    forward(handed->member, data, peer);
    return;
  }
  IceSession* ice = ice_.by_address(peer);
  if (ice == nullptr) {
    if (ice_.hold(data, peer, now)) stats_.ice_held++;
    return;
  }
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
  if (ice_.find(ufrag) != ice || ice->key) {
    destroy_session(peer);
    return;
  }
  s->ice = ice;
  ice->key = peer;
  ice_event(*ice, {IceEvent::Type::kSessionStarted, peer, {}});
  after(peer, now);
}

void EndpointCore::replay_held(const PeerAddress& from, TimePoint now) {
  for (const auto& d : ice_.take_held(from, now)) {
    if (closing_) return;
    stats_.ice_replayed++;
    on_dtls(d, from, now);
  }
}

void EndpointCore::expire_consent(TimePoint now) {
  while (IceSession* ice = ice_.pop_expired(now)) {
    stats_.ice_consent_expired++;
    const Error e = make_error(
        "ERR_ICE_CONSENT_EXPIRED",
        "no valid ICE check for " + ice->options.local.ufrag + " in " +
            std::to_string(ice->options.consent_timeout.count()) +
            " ms: the peer withdrew consent (RFC 7675 §5.1)");
    if (ice->key) {
      destroy_session(*ice->key, e);  // forgets `ice` too
    } else {
      const std::string ufrag = ice->options.local.ufrag;
      forget_ice(ice);
      if (callbacks_.on_ice)
        callbacks_.on_ice(ufrag, {IceEvent::Type::kFailed, {}, e});
    }
    if (closing_) return;
  }
  deadlines_.set(consent_id_, ice_.next_deadline());
}

}  // namespace dtls
