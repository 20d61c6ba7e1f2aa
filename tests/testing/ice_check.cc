#include "tests/testing/ice_check.h"

#include "transport/ice/stun_message.h"

namespace dtls::testing {

std::vector<std::uint8_t> ice_check(std::string_view user, std::string_view pwd,
                                    bool use_candidate,
                                    std::uint8_t transaction_byte) {
  stun::TransactionId tid{};
  tid.fill(transaction_byte);
  stun::MessageBuilder b(stun::kMethodBinding, stun::Class::kRequest, tid);
  if (!user.empty()) b.add_string(stun::attr::kUsername, user);
  b.add_u32(stun::attr::kPriority, 0x6e0001ff);
  b.add_u64(stun::attr::kIceControlling, 7);
  if (use_candidate) b.add_flag(stun::attr::kUseCandidate);
  b.add_integrity(pwd);
  b.add_fingerprint();
  return {b.bytes().begin(), b.bytes().end()};
}

}  // namespace dtls::testing
