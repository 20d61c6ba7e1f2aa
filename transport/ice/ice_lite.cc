#include "transport/ice/ice_lite.h"

#include <openssl/rand.h>

#include <algorithm>

namespace dtls {
namespace {

bool ice_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '+' || c == '/';
}

bool ice_string(std::string_view s, size_t min) {
  return s.size() >= min && s.size() <= 256 &&
         std::all_of(s.begin(), s.end(), ice_char);
}

std::optional<std::string> random_ice_string(size_t n) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::vector<unsigned char> bytes(n);
  if (RAND_bytes(bytes.data(), static_cast<int>(n)) != 1) return std::nullopt;
  std::string out(n, 'A');
  for (size_t i = 0; i < n; ++i) out[i] = kAlphabet[bytes[i] & 63];
  return out;
}

stun::MessageBuilder error_response(const stun::Message& request, int code) {
  stun::MessageBuilder b(request.method(), stun::Class::kError,
                         request.transaction_id());
  b.add_error_code(code, stun::error_reason(code));
  return b;
}

}  // namespace

Status validate_ice_credentials(const IceCredentials& c, bool require_pwd) {
  if (!ice_string(c.ufrag, 4)) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "ice ufrag must be 4..256 characters of A-Z a-z 0-9 + /"
                      " (RFC 8445 §5.3), got '" +
                          c.ufrag + "'");
  }
  if ((require_pwd || !c.pwd.empty()) && !ice_string(c.pwd, 22)) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "ice pwd must be 22..256 characters of A-Z a-z 0-9 + /"
                      " (RFC 8445 §5.3)");
  }
  return {};
}

Result<IceCredentials> generate_ice_credentials() {
  auto ufrag = random_ice_string(8);
  auto pwd = random_ice_string(24);
  if (!ufrag || !pwd) return random_failure("ICE ufrag and password");
  return IceCredentials{std::move(*ufrag), std::move(*pwd)};
}

std::optional<std::string_view> local_ufrag(const stun::Message& request) {
  auto user = request.username();
  if (!user) return std::nullopt;
  const size_t colon = user->find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  return user->substr(0, colon);
}

IceLiteResponder::IceLiteResponder(Options options)
    : options_(std::move(options)) {
  options_.max_addresses = std::max<size_t>(1, options_.max_addresses);
}

std::optional<stun::MessageBuilder> IceLiteResponder::reject(
    const stun::Message& request, int code) {
  if (request.message_class() != stun::Class::kRequest) return std::nullopt;
  stun::MessageBuilder b = error_response(request, code);
  b.add_fingerprint();
  return b;
}

bool IceLiteResponder::is_valid(const PeerAddress& address) const {
  return std::find(valid_order_.begin(), valid_order_.end(), address) !=
         valid_order_.end();
}

IceLiteResponder::Reply IceLiteResponder::handle(const stun::Message& request,
                                                 const PeerAddress& from,
                                                 TimePoint now) {
  Reply reply;
  // Only Binding requests are checks; responses and indications (RFC 7675
  // allows indications as keepalives) get no answer.
  if (request.method() != stun::kMethodBinding ||
      request.message_class() != stun::Class::kRequest) {
    return reply;
  }
  // RFC 8445 §7.2.2: checks carry FINGERPRINT. A wrong one means the bytes
  // are not STUN at all (RFC 8489 §14.7): silently discarded.
  if (request.has_fingerprint() && !request.check_fingerprint()) return reply;
  auto fail = [&](int code, bool authenticated) {
    reply.outcome = Outcome::kError;
    reply.error_code = code;
    reply.response = error_response(request, code);
    // RFC 8489 §9.1.3: an error to a request that did not authenticate
    // carries no MESSAGE-INTEGRITY; after authentication it does.
    if (authenticated) reply.response->add_integrity(options_.local.pwd);
    reply.response->add_fingerprint();
    return reply;
  };
  // RFC 8489 §9.1.3 (short-term credentials): both USERNAME and
  // MESSAGE-INTEGRITY, else 400; an unknown user or a wrong HMAC, 401.
  auto user = request.username();
  if (!user || !request.has_integrity()) return fail(400, false);
  const std::string_view expected_local = options_.local.ufrag;
  if (user->size() <= expected_local.size() ||
      user->substr(0, expected_local.size()) != expected_local ||
      (*user)[expected_local.size()] != ':') {
    return fail(401, false);
  }
  const std::string_view remote = user->substr(expected_local.size() + 1);
  if (!options_.remote_ufrag.empty() && remote != options_.remote_ufrag) {
    return fail(401, false);
  }
  if (!request.check_integrity(options_.local.pwd)) return fail(401, false);
  // RFC 8489 §6.3.1: comprehension-required attributes we do not know.
  if (!request.unknown_required().empty()) {
    reply.outcome = Outcome::kError;
    reply.error_code = 420;
    reply.response = error_response(request, 420);
    reply.response->add_unknown_attributes(request.unknown_required());
    reply.response->add_integrity(options_.local.pwd);
    reply.response->add_fingerprint();
    return reply;
  }
  // RFC 8445 §6.1.1: a lite agent is always controlled. A peer that also
  // claims to be controlled is told to take the controlling role (§7.3.1.1).
  if (request.ice_controlled() && !request.ice_controlling()) {
    return fail(487, true);
  }

  // §7.3.1.4: a valid check; the success response reflects the source.
  reply.outcome = Outcome::kSuccess;
  if (!is_valid(from)) {
    reply.new_address = true;
    if (valid_order_.size() >= options_.max_addresses) {
      auto victim = std::find_if(
          valid_order_.begin(), valid_order_.end(),
          [&](const PeerAddress& a) { return !selected_ || a != *selected_; });
      if (victim != valid_order_.end()) {
        reply.evicted = *victim;
        valid_order_.erase(victim);
      }
    }
    valid_order_.push_back(from);
  }
  // §7.3.1.5: USE-CANDIDATE in a valid check nominates the pair; a lite
  // agent has no triggered check to wait for.
  if (request.has(stun::attr::kUseCandidate)) {
    reply.nominated = !selected_ || *selected_ != from;
    selected_ = from;
  }
  // RFC 7675 §5.1: consent is refreshed by checks on the pair in use.
  if (!selected_ || *selected_ == from) last_consent_ = now;
  reply.response.emplace(request.method(), stun::Class::kSuccess,
                         request.transaction_id());
  reply.response->add_xor_address(stun::attr::kXorMappedAddress, from);
  reply.response->add_integrity(options_.local.pwd);
  reply.response->add_fingerprint();
  return reply;
}

}  // namespace dtls
