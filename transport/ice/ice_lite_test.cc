#include "transport/ice/ice_lite.h"

#include <gtest/gtest.h>

#include "tests/testing/failing_random.h"

namespace dtls {
namespace {

using stun::attr::kIceControlled;
using stun::attr::kIceControlling;
using stun::attr::kPriority;
using stun::attr::kUseCandidate;
using stun::attr::kUsername;

constexpr char kLocalUfrag[] = "lite";
constexpr char kLocalPwd[] = "abcdefghijklmnopqrstuvwx";
constexpr char kRemoteUfrag[] = "full";

stun::TransactionId tid(std::uint8_t n) {
  stun::TransactionId id{};
  id.fill(n);
  return id;
}

// A check as a full, controlling agent sends it (RFC 8445 §7.2.2).
struct Check {
  std::string username = std::string(kLocalUfrag) + ":" + kRemoteUfrag;
  std::string pwd = kLocalPwd;
  bool use_candidate = false;
  bool controlled = false;  // ICE-CONTROLLED instead of ICE-CONTROLLING
  bool with_username = true;
  bool with_integrity = true;
  bool with_fingerprint = true;
  std::uint16_t extra_attribute = 0;
  stun::Class cls = stun::Class::kRequest;
  std::uint8_t id = 1;

  stun::MessageBuilder build() const {
    stun::MessageBuilder b(stun::kMethodBinding, cls, tid(id));
    if (with_username) b.add_string(kUsername, username);
    b.add_u32(kPriority, 0x6e0001ff);
    b.add_u64(controlled ? kIceControlled : kIceControlling, 0x1234);
    if (use_candidate) b.add_flag(kUseCandidate);
    if (extra_attribute != 0) b.add_u32(extra_attribute, 0);
    b.add_u32(0xC057, 1);  // GOOG-NETWORK-INFO: optional, ignored
    if (with_integrity) b.add_integrity(pwd);
    if (with_fingerprint) b.add_fingerprint();
    return b;
  }
};

class IceLiteTest : public ::testing::Test {
 protected:
  IceLiteResponder::Reply send(const Check& c, const PeerAddress& from) {
    built_ = c.build();
    auto m = stun::Message::parse(built_->bytes());
    EXPECT_TRUE(m);
    auto reply = responder_.handle(*m, from, now_);
    if (reply.response) {
      response_bytes_.assign(reply.response->bytes().begin(),
                             reply.response->bytes().end());
    } else {
      response_bytes_.clear();
    }
    return reply;
  }
  std::optional<stun::Message> response() const {
    return stun::Message::parse(response_bytes_);
  }

  IceLiteResponder responder_{{{kLocalUfrag, kLocalPwd}, kRemoteUfrag, 3}};
  TimePoint now_ = TimePoint() + std::chrono::hours(1);
  PeerAddress a_ = PeerAddress::parse("127.0.0.1", 50000).value();
  PeerAddress b_ = PeerAddress::parse("::1", 50001).value();
  std::optional<stun::MessageBuilder> built_;
  std::vector<std::uint8_t> response_bytes_;
};

TEST_F(IceLiteTest, AValidCheckGetsXorMappedAddressIntegrityAndFingerprint) {
  auto r = send(Check{}, a_);
  EXPECT_EQ(r.outcome, IceLiteResponder::Outcome::kSuccess);
  EXPECT_TRUE(r.new_address);
  EXPECT_FALSE(r.nominated);
  auto m = response();
  ASSERT_TRUE(m);
  EXPECT_EQ(m->message_class(), stun::Class::kSuccess);
  EXPECT_EQ(m->transaction_id(), tid(1));
  EXPECT_EQ(m->xor_mapped_address(), a_);
  // RFC 8445 §7.3.1.4: the response is protected with the same password.
  EXPECT_TRUE(m->check_integrity(std::string_view(kLocalPwd)));
  EXPECT_TRUE(m->check_fingerprint());
  EXPECT_TRUE(responder_.is_valid(a_));
  EXPECT_FALSE(responder_.selected());
  EXPECT_EQ(responder_.last_consent(), now_);

  // IPv6 sources are reflected as IPv6.
  r = send(Check{}, b_);
  EXPECT_TRUE(r.new_address);
  EXPECT_EQ(response()->xor_mapped_address(), b_);
  // A repeated check from a known address is not new.
  EXPECT_FALSE(send(Check{}, a_).new_address);
}

TEST_F(IceLiteTest, UseCandidateNominatesAndTheLatestNominationWins) {
  auto r = send(Check{.use_candidate = true}, a_);
  EXPECT_TRUE(r.nominated);
  EXPECT_EQ(responder_.selected(), a_);
  EXPECT_FALSE(send(Check{.use_candidate = true}, a_).nominated);  // same
  r = send(Check{.use_candidate = true}, b_);
  EXPECT_TRUE(r.nominated);
  EXPECT_EQ(responder_.selected(), b_);
}

TEST_F(IceLiteTest, ConsentFollowsTheSelectedAddress) {
  send(Check{.use_candidate = true}, a_);
  const TimePoint t0 = now_;
  now_ += std::chrono::seconds(5);
  send(Check{}, b_);  // valid, but not the pair in use
  EXPECT_EQ(responder_.last_consent(), t0);
  now_ += std::chrono::seconds(5);
  send(Check{}, a_);
  EXPECT_EQ(responder_.last_consent(), now_);
}

TEST_F(IceLiteTest, WrongCredentialsNeverSucceed) {
  struct Case {
    const char* what;
    Check check;
    int code;
  };
  const Case cases[] = {
      {"no USERNAME", Check{.with_username = false}, 400},
      {"no MESSAGE-INTEGRITY", Check{.with_integrity = false}, 400},
      {"another session's ufrag", Check{.username = "lite2:full"}, 401},
      {"a prefix of our ufrag", Check{.username = "lit:full"}, 401},
      {"no colon", Check{.username = "lite"}, 401},
      {"another remote ufrag", Check{.username = "lite:other"}, 401},
      {"wrong password", Check{.pwd = "abcdefghijklmnopqrstuvwy"}, 401},
  };
  for (const Case& c : cases) {
    auto r = send(c.check, a_);
    EXPECT_EQ(r.outcome, IceLiteResponder::Outcome::kError) << c.what;
    EXPECT_EQ(r.error_code, c.code) << c.what;
    auto m = response();
    ASSERT_TRUE(m) << c.what;
    EXPECT_EQ(m->message_class(), stun::Class::kError) << c.what;
    EXPECT_EQ(m->error_code()->code, c.code) << c.what;
    // RFC 8489 §9.1.3: no integrity on an unauthenticated error.
    EXPECT_FALSE(m->has_integrity()) << c.what;
    EXPECT_TRUE(m->check_fingerprint()) << c.what;
  }
  EXPECT_TRUE(responder_.valid_addresses().empty());
  EXPECT_FALSE(responder_.last_consent());
}

TEST_F(IceLiteTest, UnknownComprehensionRequiredAttributeGets420) {
  auto r = send(Check{.extra_attribute = 0x0031}, a_);
  EXPECT_EQ(r.error_code, 420);
  auto m = response();
  ASSERT_TRUE(m);
  auto ua = m->attribute(stun::attr::kUnknownAttributes);
  ASSERT_TRUE(ua);
  ASSERT_EQ(ua->size(), 2u);
  EXPECT_EQ((*ua)[0] << 8 | (*ua)[1], 0x0031);
  EXPECT_TRUE(m->check_integrity(std::string_view(kLocalPwd)));
  EXPECT_FALSE(responder_.is_valid(a_));
}

TEST_F(IceLiteTest, APeerClaimingControlledGetsRoleConflict) {
  auto r = send(Check{.controlled = true}, a_);
  EXPECT_EQ(r.error_code, 487);
  EXPECT_TRUE(response()->check_integrity(std::string_view(kLocalPwd)));
  EXPECT_FALSE(responder_.is_valid(a_));
}

TEST_F(IceLiteTest, WrongFingerprintResponsesAndIndicationsAreDropped) {
  Check c;
  auto b = c.build();
  std::vector<std::uint8_t> bytes(b.bytes().begin(), b.bytes().end());
  bytes.back() ^= 1;
  auto m = stun::Message::parse(bytes);
  ASSERT_TRUE(m);
  EXPECT_EQ(responder_.handle(*m, a_, now_).outcome,
            IceLiteResponder::Outcome::kDrop);
  for (stun::Class cls :
       {stun::Class::kIndication, stun::Class::kSuccess, stun::Class::kError}) {
    auto r = send(Check{.cls = cls}, a_);
    EXPECT_EQ(r.outcome, IceLiteResponder::Outcome::kDrop);
    EXPECT_FALSE(r.response);
  }
  EXPECT_TRUE(responder_.valid_addresses().empty());
}

TEST_F(IceLiteTest, RemembersABoundedNumberOfAddressesKeepingTheSelected) {
  send(Check{.use_candidate = true}, a_);
  for (std::uint16_t port = 1; port <= 10; ++port) {
    auto r = send(Check{}, PeerAddress::parse("127.0.0.2", port).value());
    // a_ (selected) and ports 1..port-1: full from port 3 on.
    if (port >= 3) {
      ASSERT_TRUE(r.evicted) << port;
      EXPECT_EQ(*r.evicted, PeerAddress::parse("127.0.0.2", port - 2).value());
    } else {
      EXPECT_FALSE(r.evicted) << port;
    }
  }
  EXPECT_EQ(responder_.valid_addresses().size(), 3u);
  EXPECT_TRUE(responder_.is_valid(a_));
  EXPECT_TRUE(responder_.is_valid(PeerAddress::parse("127.0.0.2", 10).value()));
  EXPECT_FALSE(responder_.is_valid(PeerAddress::parse("127.0.0.2", 1).value()));
}

TEST(IceLiteRejectTest, RejectsUnownedRequestsWithoutIntegrity) {
  Check c{.username = "nobody:full"};
  auto b = c.build();
  auto m = stun::Message::parse(b.bytes());
  auto r = IceLiteResponder::reject(*m, 401);
  ASSERT_TRUE(r);
  auto parsed = stun::Message::parse(r->bytes());
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->error_code()->code, 401);
  EXPECT_FALSE(parsed->has_integrity());
  // Only requests are answered.
  Check ind{.cls = stun::Class::kIndication};
  auto bi = ind.build();
  EXPECT_FALSE(
      IceLiteResponder::reject(*stun::Message::parse(bi.bytes()), 401));
}

TEST(IceCredentialsTest, ValidatesRfc8445Syntax) {
  EXPECT_TRUE(validate_ice_credentials({"abcd", kLocalPwd}).ok());
  EXPECT_TRUE(validate_ice_credentials({"ab+/", kLocalPwd}).ok());
  EXPECT_FALSE(validate_ice_credentials({"abc", kLocalPwd}).ok());
  EXPECT_FALSE(validate_ice_credentials({"ab:c", kLocalPwd}).ok());
  EXPECT_FALSE(validate_ice_credentials({"abcd", "short"}).ok());
  EXPECT_EQ(validate_ice_credentials({"abcd", "short"}).error().code,
            "ERR_INVALID_ARG_VALUE");
  EXPECT_TRUE(validate_ice_credentials({"abcd", ""}, false).ok());
  auto g1 = generate_ice_credentials();
  auto g2 = generate_ice_credentials();
  ASSERT_TRUE(g1.ok() && g2.ok());
  EXPECT_TRUE(validate_ice_credentials(*g1).ok());
  EXPECT_NE(g1->pwd, g2->pwd);
}

// Fail closed: no credentials an attacker could guess.
TEST(IceCredentialsTest, GenerationFailsWhenTheRandomGeneratorDoes) {
  testing::FailingRandom no_random;
  auto g = generate_ice_credentials();
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.error().code, "ERR_RANDOM");
  EXPECT_GE(no_random.refused(), 1);
}

TEST(IceCredentialsTest, LocalUfragIsTheUsernameBeforeTheColon) {
  Check c{.username = "mine:theirs"};
  auto b = c.build();
  EXPECT_EQ(local_ufrag(*stun::Message::parse(b.bytes())), "mine");
  Check none{.username = ":theirs"};
  auto bn = none.build();
  EXPECT_FALSE(local_ufrag(*stun::Message::parse(bn.bytes())));
}

}  // namespace
}  // namespace dtls
