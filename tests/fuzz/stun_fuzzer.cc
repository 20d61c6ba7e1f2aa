// STUN on the shared port: parse untrusted bytes, check FINGERPRINT and
// MESSAGE-INTEGRITY, and let an ICE-lite responder answer. Whatever it sends
// back must itself parse, carry a good FINGERPRINT, and (for successes) a
// MESSAGE-INTEGRITY made with the session's password.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "transport/ice/ice_lite.h"
#include "transport/ice/stun_message.h"

namespace {

constexpr char kUfrag[] = "fuzz";
constexpr char kPwd[] = "0123456789abcdefghijklmn";

void require(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  using namespace dtls;
  std::span<const std::uint8_t> bytes(data, size);
  auto m = stun::Message::parse(bytes);
  if (!m) return 0;
  // Every accessor must stay inside the datagram.
  (void)m->username();
  (void)m->priority();
  (void)m->ice_controlling();
  (void)m->ice_controlled();
  (void)m->error_code();
  (void)m->xor_mapped_address();
  (void)m->check_fingerprint();
  (void)m->check_integrity(std::string_view(kPwd));
  (void)local_ufrag(*m);
  static IceLiteResponder responder({{kUfrag, kPwd}, "", 4});
  const PeerAddress from = PeerAddress::parse("127.0.0.1", 5000).value();
  auto reply = responder.handle(*m, from, TimePoint());
  if (reply.outcome == IceLiteResponder::Outcome::kSuccess) {
    // Only an authenticated request succeeds.
    require(m->check_integrity(std::string_view(kPwd)));
  }
  if (reply.response) {
    require(reply.response->ok());
    auto r = stun::Message::parse(reply.response->bytes());
    require(r.has_value());
    require(r->check_fingerprint());
    require(r->transaction_id() == m->transaction_id());
    if (reply.outcome == IceLiteResponder::Outcome::kSuccess) {
      require(r->check_integrity(std::string_view(kPwd)));
      require(r->xor_mapped_address() == from);
    }
  }
  if (auto rejected = IceLiteResponder::reject(*m, 401)) {
    require(stun::Message::parse(rejected->bytes()).has_value());
  }
  return 0;
}
