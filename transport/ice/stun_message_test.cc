#include "transport/ice/stun_message.h"

#include <gtest/gtest.h>

#include <vector>

namespace dtls::stun {
namespace {

// RFC 5769 §2.1: sample request, password "VOkJxbRl1RmTxUk/WvJxBt".
const std::vector<std::uint8_t> kRequest = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
    0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
    0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
    0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
    0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
    0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};
constexpr char kPassword[] = "VOkJxbRl1RmTxUk/WvJxBt";

// RFC 5769 §2.2: sample IPv4 response (192.0.2.1:32853).
const std::vector<std::uint8_t> kResponse4 = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
    0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
    0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

// RFC 5769 §2.3: sample IPv6 response
// ([2001:db8:1234:5678:11:2233:4455:6677]:32853).
const std::vector<std::uint8_t> kResponse6 = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
    0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
    0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
    0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c};

TransactionId vector_id() {
  return {0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
          0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};
}

TEST(StunMessageTest, ParsesTheRfc5769Request) {
  auto m = Message::parse(kRequest);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->method(), kMethodBinding);
  EXPECT_EQ(m->message_class(), Class::kRequest);
  EXPECT_EQ(m->transaction_id(), vector_id());
  EXPECT_EQ(m->username(), "evtj:h6vY");
  EXPECT_EQ(m->priority(), 0x6e0001ffu);
  EXPECT_EQ(m->ice_controlled(), 0x932ff9b151263b36ull);
  EXPECT_FALSE(m->ice_controlling());
  EXPECT_FALSE(m->has(attr::kUseCandidate));
  EXPECT_TRUE(m->unknown_required().empty());
  EXPECT_TRUE(m->check_integrity(std::string_view(kPassword)));
  EXPECT_FALSE(m->check_integrity(std::string_view("VOkJxbRl1RmTxUk/WvJxBu")));
  EXPECT_TRUE(m->check_fingerprint());
}

TEST(StunMessageTest, ParsesTheRfc5769Responses) {
  auto m4 = Message::parse(kResponse4);
  ASSERT_TRUE(m4);
  EXPECT_EQ(m4->message_class(), Class::kSuccess);
  ASSERT_TRUE(m4->xor_mapped_address());
  EXPECT_EQ(m4->xor_mapped_address()->to_string(), "192.0.2.1:32853");
  EXPECT_TRUE(m4->check_integrity(std::string_view(kPassword)));
  EXPECT_TRUE(m4->check_fingerprint());

  auto m6 = Message::parse(kResponse6);
  ASSERT_TRUE(m6);
  ASSERT_TRUE(m6->xor_mapped_address());
  EXPECT_EQ(m6->xor_mapped_address()->to_string(),
            "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
  EXPECT_TRUE(m6->check_integrity(std::string_view(kPassword)));
  EXPECT_TRUE(m6->check_fingerprint());
}

TEST(StunMessageTest, BuildsTheRfc5769MessagesByteForByte) {
  MessageBuilder req(kMethodBinding, Class::kRequest, vector_id());
  req.set_padding(0x20);  // the RFC's vectors pad with spaces
  req.add_string(attr::kSoftware, "STUN test client");
  req.add_u32(attr::kPriority, 0x6e0001ff);
  req.add_u64(attr::kIceControlled, 0x932ff9b151263b36ull);
  req.add_string(attr::kUsername, "evtj:h6vY");
  req.add_integrity(std::string_view(kPassword));
  req.add_fingerprint();
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(std::vector<std::uint8_t>(req.bytes().begin(), req.bytes().end()),
            kRequest);

  for (const auto& [ip, expected] :
       {std::pair{"192.0.2.1", kResponse4},
        std::pair{"2001:db8:1234:5678:11:2233:4455:6677", kResponse6}}) {
    MessageBuilder res(kMethodBinding, Class::kSuccess, vector_id());
    res.set_padding(0x20);
    res.add_string(attr::kSoftware, "test vector");
    res.add_xor_address(attr::kXorMappedAddress,
                        PeerAddress::parse(ip, 32853).value());
    res.add_integrity(std::string_view(kPassword));
    res.add_fingerprint();
    ASSERT_TRUE(res.ok());
    EXPECT_EQ(std::vector<std::uint8_t>(res.bytes().begin(), res.bytes().end()),
              expected)
        << ip;
  }
}

TEST(StunMessageTest, MessageTypeInterleavesClassAndMethod) {
  EXPECT_EQ(message_type(kMethodBinding, Class::kRequest), 0x0001);
  EXPECT_EQ(message_type(kMethodBinding, Class::kIndication), 0x0011);
  EXPECT_EQ(message_type(kMethodBinding, Class::kSuccess), 0x0101);
  EXPECT_EQ(message_type(kMethodBinding, Class::kError), 0x0111);
  // Every method and class round-trips through the parser.
  for (std::uint16_t method : {0x001, 0x003, 0x00F, 0x010, 0x0FF, 0xFFF}) {
    for (Class c : {Class::kRequest, Class::kIndication, Class::kSuccess,
                    Class::kError}) {
      MessageBuilder b(method, c, vector_id());
      auto m = Message::parse(b.bytes());
      ASSERT_TRUE(m);
      EXPECT_EQ(m->method(), method);
      EXPECT_EQ(m->message_class(), c);
    }
  }
}

TEST(StunMessageTest, ErrorCodeAndUnknownAttributesRoundTrip) {
  MessageBuilder b(kMethodBinding, Class::kError, vector_id());
  b.add_error_code(420, "Unknown Attribute");
  const std::uint16_t unknown[] = {0x0031, 0x7FFF, 0x0002};
  b.add_unknown_attributes(unknown);
  b.add_fingerprint();
  ASSERT_TRUE(b.ok());
  auto m = Message::parse(b.bytes());
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->error_code());
  EXPECT_EQ(m->error_code()->code, 420);
  EXPECT_EQ(m->error_code()->reason, "Unknown Attribute");
  auto ua = m->attribute(attr::kUnknownAttributes);
  ASSERT_TRUE(ua);
  ASSERT_EQ(ua->size(), 6u);  // 3 types, padded to 8 on the wire
  EXPECT_EQ((*ua)[0] << 8 | (*ua)[1], 0x0031);
  EXPECT_EQ((*ua)[4] << 8 | (*ua)[5], 0x0002);
  EXPECT_TRUE(m->check_fingerprint());
  EXPECT_FALSE(m->check_integrity(std::string_view("any")));  // none present

  for (int code : {299, 700}) {
    MessageBuilder bad(kMethodBinding, Class::kError, vector_id());
    EXPECT_FALSE(bad.add_error_code(code, "x"));
    EXPECT_FALSE(bad.ok());
  }
}

TEST(StunMessageTest, FlagsAndControllingRoundTrip) {
  MessageBuilder b(kMethodBinding, Class::kRequest, vector_id());
  b.add_string(attr::kUsername, "a:b");
  b.add_flag(attr::kUseCandidate);
  b.add_u64(attr::kIceControlling, 42);
  b.add_u32(0xC057, 7);  // comprehension-optional (Chrome's network info)
  b.add_integrity(std::string_view("pw"));
  b.add_fingerprint();
  auto m = Message::parse(b.bytes());
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->has(attr::kUseCandidate));
  EXPECT_EQ(m->ice_controlling(), 42u);
  EXPECT_TRUE(m->unknown_required().empty());
  EXPECT_TRUE(m->check_integrity(std::string_view("pw")));
  EXPECT_TRUE(m->check_fingerprint());
}

TEST(StunMessageTest, ReportsUnknownComprehensionRequiredAttributes) {
  MessageBuilder b(kMethodBinding, Class::kRequest, vector_id());
  b.add_u32(0x0031, 1);
  b.add_u32(attr::kMessageIntegritySha256, 1);  // not done by a lite agent
  b.add_u32(0xC001, 1);                         // optional: ignored
  auto m = Message::parse(b.bytes());
  ASSERT_TRUE(m);
  ASSERT_EQ(m->unknown_required().size(), 2u);
  EXPECT_EQ(m->unknown_required()[0], 0x0031);
  EXPECT_EQ(m->unknown_required()[1], attr::kMessageIntegritySha256);
}

TEST(StunMessageTest, AttributesAfterIntegrityAreIgnored) {
  MessageBuilder b(kMethodBinding, Class::kRequest, vector_id());
  b.add_string(attr::kUsername, "a:b");
  b.add_integrity(std::string_view("pw"));
  b.add_flag(attr::kUseCandidate);  // not covered by the integrity
  b.add_u32(0x0031, 1);
  auto m = Message::parse(b.bytes());
  ASSERT_TRUE(m);
  EXPECT_FALSE(m->has(attr::kUseCandidate));
  EXPECT_TRUE(m->unknown_required().empty());
  EXPECT_TRUE(m->check_integrity(std::string_view("pw")));
}

TEST(StunMessageTest, RefusesMalformedMessages) {
  EXPECT_FALSE(Message::parse({}));
  EXPECT_FALSE(Message::parse(std::span(kRequest).first(19)));
  auto bad = kRequest;
  bad[0] |= 0x40;  // top bits must be zero
  EXPECT_FALSE(Message::parse(bad));
  bad = kRequest;
  bad[4] ^= 1;  // magic cookie
  EXPECT_FALSE(Message::parse(bad));
  bad = kRequest;
  bad[3] = 0x54;  // length shorter than the datagram
  EXPECT_FALSE(Message::parse(bad));
  bad = kRequest;
  bad[3] = 0x57;  // not a multiple of 4
  EXPECT_FALSE(Message::parse(bad));
  bad = kRequest;
  bad[23] = 0x40;  // SOFTWARE runs past the end
  EXPECT_FALSE(Message::parse(bad));
  // FINGERPRINT must be last.
  MessageBuilder b(kMethodBinding, Class::kRequest, vector_id());
  b.add_fingerprint();
  b.add_u32(attr::kPriority, 1);
  EXPECT_FALSE(Message::parse(b.bytes()));
  // Every truncation of a valid message is refused without reading past it.
  for (size_t n = 0; n < kRequest.size(); ++n) {
    std::vector<std::uint8_t> cut(kRequest.begin(), kRequest.begin() + n);
    EXPECT_FALSE(Message::parse(cut)) << n;
  }
}

TEST(StunMessageTest, DetectsTamperingAnywhere) {
  for (size_t i = kHeaderSize; i < kRequest.size() - 8; ++i) {
    auto bad = kRequest;
    bad[i] ^= 0x01;
    auto m = Message::parse(bad);
    if (!m) continue;  // broke the framing: refused anyway
    EXPECT_FALSE(m->check_fingerprint() &&
                 m->check_integrity(std::string_view(kPassword)))
        << i;
  }
}

TEST(StunMessageTest, BuilderFailsWhenFull) {
  MessageBuilder b(kMethodBinding, Class::kRequest, vector_id());
  std::vector<std::uint8_t> big(MessageBuilder::kCapacity, 0);
  EXPECT_FALSE(b.add_bytes(attr::kSoftware, big));
  EXPECT_FALSE(b.ok());
  EXPECT_FALSE(b.add_fingerprint());  // stays failed
}

TEST(StunMessageTest, ErrorReasonsArePrintable) {
  EXPECT_EQ(error_reason(401), "Unauthorized");
  EXPECT_EQ(error_reason(487), "Role Conflict");
  EXPECT_EQ(error_reason(599), "Error");
}

}  // namespace
}  // namespace dtls::stun
