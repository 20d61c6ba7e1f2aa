// STUN messages (RFC 8489) as ICE uses them on a shared media port: a parser
// that reads untrusted bytes without allocating, and a builder that writes into
// a fixed buffer. Only what ICE-lite needs: Binding requests, responses and
// errors with XOR-MAPPED-ADDRESS, USERNAME, MESSAGE-INTEGRITY (HMAC-SHA1),
// FINGERPRINT, PRIORITY, USE-CANDIDATE, ICE-CONTROLLING/ICE-CONTROLLED,
// ERROR-CODE and UNKNOWN-ATTRIBUTES.
#ifndef DTLS_SRTP_TRANSPORT_ICE_STUN_MESSAGE_H_
#define DTLS_SRTP_TRANSPORT_ICE_STUN_MESSAGE_H_

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "transport/base/peer_address.h"

namespace dtls::stun {

inline constexpr std::uint32_t kMagicCookie = 0x2112A442;  // RFC 8489 §5
inline constexpr size_t kHeaderSize = 20;
inline constexpr std::uint32_t kFingerprintXor = 0x5354554e;  // §14.7
inline constexpr size_t kIntegritySize = 20;                  // HMAC-SHA1

inline constexpr std::uint16_t kMethodBinding = 0x001;

enum class Class : std::uint8_t {
  kRequest = 0,
  kIndication = 1,
  kSuccess = 2,
  kError = 3,
};

// Attribute types (RFC 8489 §18.3, RFC 8445 §16.1). Below 0x8000 a receiver
// that does not know the type must refuse the message (comprehension-required).
namespace attr {
inline constexpr std::uint16_t kMappedAddress = 0x0001;
inline constexpr std::uint16_t kUsername = 0x0006;
inline constexpr std::uint16_t kMessageIntegrity = 0x0008;
inline constexpr std::uint16_t kErrorCode = 0x0009;
inline constexpr std::uint16_t kUnknownAttributes = 0x000A;
inline constexpr std::uint16_t kRealm = 0x0014;
inline constexpr std::uint16_t kNonce = 0x0015;
inline constexpr std::uint16_t kMessageIntegritySha256 = 0x001C;
inline constexpr std::uint16_t kPasswordAlgorithm = 0x001D;
inline constexpr std::uint16_t kUserhash = 0x001E;
inline constexpr std::uint16_t kXorMappedAddress = 0x0020;
inline constexpr std::uint16_t kPriority = 0x0024;
inline constexpr std::uint16_t kUseCandidate = 0x0025;
inline constexpr std::uint16_t kSoftware = 0x8022;
inline constexpr std::uint16_t kFingerprint = 0x8028;
inline constexpr std::uint16_t kIceControlled = 0x8029;
inline constexpr std::uint16_t kIceControlling = 0x802A;
}  // namespace attr

using TransactionId = std::array<std::uint8_t, 12>;

// RFC 8489 §5: the class bits C1 C0 are interleaved with the method bits.
std::uint16_t message_type(std::uint16_t method, Class cls);

struct ErrorCode {
  int code = 0;  // 300..699
  std::string_view reason;
};

// A parsed view over one datagram; valid while the datagram is.
class Message {
 public:
  static constexpr size_t kMaxUnknown = 8;

  // A well-formed STUN message (RFC 8489 §6.3: top bits zero, magic cookie,
  // length a multiple of 4 that matches the datagram, attributes that fit,
  // FINGERPRINT last), or nullopt.
  static std::optional<Message> parse(std::span<const std::uint8_t> datagram);

  std::uint16_t method() const { return method_; }
  Class message_class() const { return class_; }
  const TransactionId& transaction_id() const { return transaction_id_; }
  std::span<const std::uint8_t> bytes() const { return data_; }

  // The first attribute of `type` (attributes after MESSAGE-INTEGRITY other
  // than FINGERPRINT are ignored, §14.5), or nullopt.
  std::optional<std::span<const std::uint8_t>> attribute(
      std::uint16_t type) const;
  bool has(std::uint16_t type) const { return attribute(type).has_value(); }

  std::optional<std::string_view> username() const;
  std::optional<std::uint32_t> priority() const;
  std::optional<std::uint64_t> ice_controlling() const;
  std::optional<std::uint64_t> ice_controlled() const;
  std::optional<ErrorCode> error_code() const;
  std::optional<PeerAddress> xor_mapped_address() const;

  bool has_integrity() const { return integrity_offset_ != 0; }
  bool has_fingerprint() const { return fingerprint_offset_ != 0; }
  // §14.5: HMAC-SHA1 keyed with `key` (the ICE password for short-term
  // credentials) over the message up to MESSAGE-INTEGRITY, with the header
  // length counting up to its end. False when absent or wrong.
  bool check_integrity(std::span<const std::uint8_t> key) const;
  bool check_integrity(std::string_view key) const;
  // §14.7: CRC-32 of the message up to FINGERPRINT, XOR 0x5354554e. False
  // when absent or wrong.
  bool check_fingerprint() const;

  // Comprehension-required attribute types (below 0x8000) this parser does
  // not know, at most kMaxUnknown of them (§6.3.1: answered with 420).
  std::span<const std::uint16_t> unknown_required() const {
    return std::span(unknown_).first(unknown_count_);
  }

 private:
  std::span<const std::uint8_t> data_;
  std::uint16_t method_ = 0;
  Class class_ = Class::kRequest;
  TransactionId transaction_id_{};
  size_t integrity_offset_ = 0;    // of the attribute header; 0 = none
  size_t fingerprint_offset_ = 0;  // of the attribute header; 0 = none
  std::array<std::uint16_t, kMaxUnknown> unknown_{};
  size_t unknown_count_ = 0;
};

// Writes one message into its own fixed buffer: no allocation. Every add_*
// returns false (and the builder stays failed) when the buffer is full.
class MessageBuilder {
 public:
  static constexpr size_t kCapacity = 1280;

  MessageBuilder(std::uint16_t method, Class cls, const TransactionId& id);

  bool add_bytes(std::uint16_t type, std::span<const std::uint8_t> value);
  bool add_string(std::uint16_t type, std::string_view value);
  bool add_u32(std::uint16_t type, std::uint32_t value);
  bool add_u64(std::uint16_t type, std::uint64_t value);
  bool add_flag(std::uint16_t type) { return add_bytes(type, {}); }
  // §14.2: family, port XOR the cookie's top 16 bits, address XOR cookie (and
  // transaction id for IPv6).
  bool add_xor_address(std::uint16_t type, const PeerAddress& address);
  // §14.8: class in the hundreds, number in the rest; reason is UTF-8.
  bool add_error_code(int code, std::string_view reason);
  bool add_unknown_attributes(std::span<const std::uint16_t> types);
  // MESSAGE-INTEGRITY over everything so far (§14.5); then only FINGERPRINT.
  bool add_integrity(std::span<const std::uint8_t> key);
  bool add_integrity(std::string_view key);
  // FINGERPRINT over everything so far (§14.7); the last attribute.
  bool add_fingerprint();

  // The padding byte after values that are not a multiple of 4 (receivers
  // ignore it, §14; RFC 5769's vectors use spaces).
  void set_padding(std::uint8_t byte) { padding_ = byte; }

  bool ok() const { return ok_; }
  std::span<const std::uint8_t> bytes() const {
    return std::span(buffer_).first(size_);
  }

 private:
  std::uint8_t* reserve(std::uint16_t type, size_t length);
  void set_length(size_t body_length);

  std::array<std::uint8_t, kCapacity> buffer_{};
  size_t size_ = kHeaderSize;
  std::uint8_t padding_ = 0;
  bool ok_ = true;
};

// A name for an error code class that a person can read ("Unauthorized").
std::string_view error_reason(int code);

}  // namespace dtls::stun

#endif  // DTLS_SRTP_TRANSPORT_ICE_STUN_MESSAGE_H_
