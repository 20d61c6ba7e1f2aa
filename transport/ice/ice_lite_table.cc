#include "transport/ice/ice_lite_table.h"

#include <utility>

#include "transport/dtls/dtls_record.h"

namespace dtls {

Status validate_ice_session_options(const IceSessionOptions& options) {
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
  return {};
}

Status IceLiteTable::add(IceSessionOptions options, TimePoint now) {
  if (Status st = validate_ice_session_options(options); !st.ok()) return st;
  const std::string ufrag = options.local.ufrag;
  if (sessions_.count(ufrag) != 0) {
    return make_error("ERR_ICE_UFRAG_IN_USE",
                      "an ICE session with ufrag " + ufrag + " exists");
  }
  IceLiteResponder::Options ro{options.local, options.remote_ufrag,
                               options.max_addresses};
  auto s = std::make_unique<Session>(Session{std::move(options),
                                             IceLiteResponder(std::move(ro)),
                                             now, std::nullopt, next_id_++});
  by_consent_id_[s->consent_id] = s.get();
  consent_.set(s->consent_id, now + s->options.consent_timeout);
  sessions_.emplace(ufrag, std::move(s));
  return {};
}

void IceLiteTable::remove(const Session* session) {
  auto it = sessions_.find(session->options.local.ufrag);
  if (it == sessions_.end() || it->second.get() != session) return;
  for (const PeerAddress& a : session->responder.valid_addresses()) {
    auto at = by_address_.find(a);
    if (at != by_address_.end() && at->second == session) by_address_.erase(at);
  }
  consent_.erase(session->consent_id);
  by_consent_id_.erase(session->consent_id);
  sessions_.erase(it);
}

IceLiteTable::Session* IceLiteTable::find(std::string_view ufrag) {
  auto it = sessions_.find(std::string(ufrag));
  return it == sessions_.end() ? nullptr : it->second.get();
}

const IceLiteTable::Session* IceLiteTable::find(std::string_view ufrag) const {
  auto it = sessions_.find(std::string(ufrag));
  return it == sessions_.end() ? nullptr : it->second.get();
}

IceLiteTable::Session* IceLiteTable::by_address(const PeerAddress& address) {
  if (by_address_.empty()) return nullptr;
  auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : it->second;
}

void IceLiteTable::checked(Session& session, const PeerAddress& from,
                           const std::optional<PeerAddress>& evicted) {
  if (evicted) {
    auto at = by_address_.find(*evicted);
    if (at != by_address_.end() && at->second == &session)
      by_address_.erase(at);
  }
  by_address_[from] = &session;
  // RFC 7675 §5.1: a valid check on the pair in use refreshes consent.
  if (auto last = session.responder.last_consent())
    consent_.set(session.consent_id, *last + session.options.consent_timeout);
}

IceLiteTable::Session* IceLiteTable::pop_expired(TimePoint now) {
  while (auto id = consent_.pop_due(now)) {
    auto it = by_consent_id_.find(*id);
    if (it == by_consent_id_.end()) continue;
    Session& s = *it->second;
    const TimePoint deadline = s.responder.last_consent().value_or(s.created) +
                               s.options.consent_timeout;
    if (now < deadline) {
      consent_.set(s.consent_id, deadline);
      continue;
    }
    return &s;
  }
  return nullptr;
}

bool IceLiteTable::hold(std::span<const std::uint8_t> datagram,
                        const PeerAddress& from, TimePoint now) {
  // Only what can start a handshake: epoch-0 handshake records.
  auto record = parse_record_header(datagram);
  if (!record || record->content_type != kContentHandshake ||
      record->epoch != 0 || hold_datagrams_ == 0) {
    return false;
  }
  while (!held_.empty() && (now - held_.front().at > hold_time_ ||
                            held_.size() >= hold_datagrams_)) {
    held_.pop_front();
  }
  held_.push_back({from, now, {datagram.begin(), datagram.end()}});
  return true;
}

std::vector<std::vector<std::uint8_t>> IceLiteTable::take_held(
    const PeerAddress& from, TimePoint now) {
  std::vector<std::vector<std::uint8_t>> mine;
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->from == from) {
      if (now - it->at <= hold_time_) mine.push_back(std::move(it->data));
      it = held_.erase(it);
    } else {
      ++it;
    }
  }
  return mine;
}

IceLiteTable::Sessions IceLiteTable::take_all() {
  Sessions all = std::move(sessions_);
  sessions_.clear();
  by_address_.clear();
  by_consent_id_.clear();
  consent_ = DeadlineQueue();
  held_.clear();
  return all;
}

}  // namespace dtls
