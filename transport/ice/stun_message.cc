#include "transport/ice/stun_message.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "transport/base/hmac.h"

namespace dtls::stun {
namespace {

std::uint16_t get16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>(p[0] << 8 | p[1]);
}
std::uint32_t get32(const std::uint8_t* p) {
  return static_cast<std::uint32_t>(p[0]) << 24 |
         static_cast<std::uint32_t>(p[1]) << 16 |
         static_cast<std::uint32_t>(p[2]) << 8 | p[3];
}
void put16(std::uint8_t* p, std::uint32_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}
void put32(std::uint8_t* p, std::uint32_t v) {
  put16(p, v >> 16);
  put16(p + 2, v & 0xffff);
}
size_t padded(size_t n) { return (n + 3) & ~size_t{3}; }

// The comprehension-required types this implementation acts on. The others
// below 0x8000 (REALM, NONCE, MESSAGE-INTEGRITY-SHA256, USERHASH, ...) belong
// to long-term credentials or features an ICE-lite responder does not do, so
// a request carrying them is answered with 420 (§6.3.1).
bool known_required(std::uint16_t type) {
  switch (type) {
    case attr::kMappedAddress:
    case attr::kUsername:
    case attr::kMessageIntegrity:
    case attr::kErrorCode:
    case attr::kUnknownAttributes:
    case attr::kXorMappedAddress:
    case attr::kPriority:
    case attr::kUseCandidate:
      return true;
    default:
      return false;
  }
}

// The largest message whose integrity is checked: ICE checks are a few
// hundred bytes, and a larger one is not worth hashing.
constexpr size_t kMaxIntegrityInput = 2048;

// §14.5: HMAC-SHA1 keyed with the password, over the header (its length
// adjusted by the caller) and the attributes before MESSAGE-INTEGRITY.
bool hmac_sha1(std::span<const std::uint8_t> key,
               std::span<const std::uint8_t> header,
               std::span<const std::uint8_t> body, std::uint8_t* out) {
  if (header.size() + body.size() > kMaxIntegrityInput) return false;
  const crypto::HmacSha1 keyed(key);
  crypto::HmacSha1::Mac mac(keyed);
  mac.update(header);
  mac.update(body);
  static_assert(crypto::HmacSha1::kDigestSize == kIntegritySize);
  const crypto::HmacSha1::Digest digest = mac.finish();
  std::memcpy(out, digest.data(), digest.size());
  return true;
}

std::uint32_t crc32_of(std::span<const std::uint8_t> bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  return static_cast<std::uint32_t>(
      crc32(crc, bytes.data(), static_cast<uInt>(bytes.size())));
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace

std::uint16_t message_type(std::uint16_t method, Class cls) {
  const auto c = static_cast<std::uint16_t>(cls);
  return static_cast<std::uint16_t>(
      (method & 0x000F) | ((method & 0x0070) << 1) | ((method & 0x0F80) << 2) |
      ((c & 1) << 4) | ((c & 2) << 7));
}

std::optional<Message> Message::parse(std::span<const std::uint8_t> datagram) {
  // §5: the top two bits are zero, the cookie is fixed, the length counts the
  // attributes (a multiple of 4) and matches what arrived.
  if (datagram.size() < kHeaderSize || (datagram[0] & 0xC0) != 0) {
    return std::nullopt;
  }
  const std::uint16_t type = get16(datagram.data());
  const std::uint16_t length = get16(datagram.data() + 2);
  if (get32(datagram.data() + 4) != kMagicCookie || (length & 3) != 0 ||
      length != datagram.size() - kHeaderSize) {
    return std::nullopt;
  }
  Message m;
  m.data_ = datagram;
  m.method_ = static_cast<std::uint16_t>(
      (type & 0x000F) | ((type & 0x00E0) >> 1) | ((type & 0x3E00) >> 2));
  m.class_ = static_cast<Class>(((type >> 4) & 1) | ((type >> 7) & 2));
  std::copy_n(datagram.begin() + 8, 12, m.transaction_id_.begin());
  size_t pos = kHeaderSize;
  while (pos < datagram.size()) {
    if (datagram.size() - pos < 4) return std::nullopt;
    if (m.fingerprint_offset_ != 0) return std::nullopt;  // §14.7: last
    const std::uint16_t at = get16(datagram.data() + pos);
    const std::uint16_t len = get16(datagram.data() + pos + 2);
    if (padded(len) > datagram.size() - pos - 4) return std::nullopt;
    if (at == attr::kFingerprint) {
      if (len != 4) return std::nullopt;
      m.fingerprint_offset_ = pos;
    } else if (m.integrity_offset_ == 0) {
      // §14.5: after MESSAGE-INTEGRITY only FINGERPRINT counts.
      if (at == attr::kMessageIntegrity) {
        if (len != kIntegritySize) return std::nullopt;
        m.integrity_offset_ = pos;
      } else if (at < 0x8000 && !known_required(at) &&
                 m.unknown_count_ < kMaxUnknown) {
        m.unknown_[m.unknown_count_++] = at;
      }
    }
    pos += 4 + padded(len);
  }
  return m;
}

std::optional<std::span<const std::uint8_t>> Message::attribute(
    std::uint16_t type) const {
  size_t pos = kHeaderSize;
  const size_t end = integrity_offset_ != 0 ? integrity_offset_ : data_.size();
  while (pos < end) {
    const std::uint16_t at = get16(data_.data() + pos);
    const std::uint16_t len = get16(data_.data() + pos + 2);
    if (at == type) return data_.subspan(pos + 4, len);
    pos += 4 + padded(len);
  }
  if (type == attr::kMessageIntegrity && integrity_offset_ != 0)
    return data_.subspan(integrity_offset_ + 4, kIntegritySize);
  if (type == attr::kFingerprint && fingerprint_offset_ != 0)
    return data_.subspan(fingerprint_offset_ + 4, 4);
  return std::nullopt;
}

std::optional<std::string_view> Message::username() const {
  auto v = attribute(attr::kUsername);
  // §14.3: at most 509 bytes.
  if (!v || v->size() > 509) return std::nullopt;
  return std::string_view(reinterpret_cast<const char*>(v->data()), v->size());
}

std::optional<std::uint32_t> Message::priority() const {
  auto v = attribute(attr::kPriority);
  if (!v || v->size() != 4) return std::nullopt;
  return get32(v->data());
}

namespace {
std::optional<std::uint64_t> u64_of(
    std::optional<std::span<const std::uint8_t>> v) {
  if (!v || v->size() != 8) return std::nullopt;
  return static_cast<std::uint64_t>(get32(v->data())) << 32 |
         get32(v->data() + 4);
}
}  // namespace

std::optional<std::uint64_t> Message::ice_controlling() const {
  return u64_of(attribute(attr::kIceControlling));
}
std::optional<std::uint64_t> Message::ice_controlled() const {
  return u64_of(attribute(attr::kIceControlled));
}

std::optional<ErrorCode> Message::error_code() const {
  auto v = attribute(attr::kErrorCode);
  // §14.8: 21 reserved bits, class (3 bits, 3..6), number (0..99), reason.
  if (!v || v->size() < 4) return std::nullopt;
  const int cls = (*v)[2] & 0x07;
  const int number = (*v)[3];
  if (cls < 3 || cls > 6 || number > 99) return std::nullopt;
  return ErrorCode{
      cls * 100 + number,
      std::string_view(reinterpret_cast<const char*>(v->data() + 4),
                       v->size() - 4)};
}

std::optional<PeerAddress> Message::xor_mapped_address() const {
  auto v = attribute(attr::kXorMappedAddress);
  if (!v || v->size() < 8) return std::nullopt;
  const std::uint8_t family = (*v)[1];
  const auto port =
      static_cast<std::uint16_t>(get16(v->data() + 2) ^ (kMagicCookie >> 16));
  // §14.2: IPv4 XOR the cookie; IPv6 XOR the cookie and the transaction id.
  std::uint8_t mask[16];
  put32(mask, kMagicCookie);
  std::copy(transaction_id_.begin(), transaction_id_.end(), mask + 4);
  if (family == 0x01 && v->size() == 8) {
    sockaddr_in sin{};
    sin.sin_family = AF_INET;
    sin.sin_port = htons(port);
    auto* a = reinterpret_cast<std::uint8_t*>(&sin.sin_addr);
    for (int i = 0; i < 4; ++i) a[i] = (*v)[4 + i] ^ mask[i];
    return PeerAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&sin));
  }
  if (family == 0x02 && v->size() == 20) {
    sockaddr_in6 sin6{};
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons(port);
    auto* a = reinterpret_cast<std::uint8_t*>(&sin6.sin6_addr);
    for (int i = 0; i < 16; ++i) a[i] = (*v)[4 + i] ^ mask[i];
    return PeerAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&sin6));
  }
  return std::nullopt;
}

bool Message::check_integrity(std::span<const std::uint8_t> key) const {
  if (integrity_offset_ == 0) return false;
  // §14.5: the length field covers the message up to the end of
  // MESSAGE-INTEGRITY, as if nothing followed it.
  std::uint8_t header[kHeaderSize];
  std::memcpy(header, data_.data(), kHeaderSize);
  put16(header + 2, integrity_offset_ + 4 + kIntegritySize - kHeaderSize);
  std::uint8_t mac[kIntegritySize];
  if (!hmac_sha1(key, header,
                 data_.subspan(kHeaderSize, integrity_offset_ - kHeaderSize),
                 mac)) {
    return false;
  }
  return CRYPTO_memcmp(mac, data_.data() + integrity_offset_ + 4,
                       kIntegritySize) == 0;
}

bool Message::check_integrity(std::string_view key) const {
  return check_integrity(as_bytes(key));
}

bool Message::check_fingerprint() const {
  if (fingerprint_offset_ == 0) return false;
  // FINGERPRINT is last, so the header length already counts it.
  const std::uint32_t want =
      crc32_of(data_.first(fingerprint_offset_)) ^ kFingerprintXor;
  return get32(data_.data() + fingerprint_offset_ + 4) == want;
}

MessageBuilder::MessageBuilder(std::uint16_t method, Class cls,
                               const TransactionId& id) {
  put16(buffer_.data(), message_type(method, cls));
  put16(buffer_.data() + 2, 0);
  put32(buffer_.data() + 4, kMagicCookie);
  std::copy(id.begin(), id.end(), buffer_.begin() + 8);
}

void MessageBuilder::set_length(size_t body_length) {
  put16(buffer_.data() + 2, static_cast<std::uint32_t>(body_length));
}

std::uint8_t* MessageBuilder::reserve(std::uint16_t type, size_t length) {
  if (!ok_ || length > 0xFFFF || kCapacity - size_ < 4 + padded(length)) {
    ok_ = false;
    return nullptr;
  }
  std::uint8_t* p = buffer_.data() + size_;
  put16(p, type);
  put16(p + 2, static_cast<std::uint32_t>(length));
  std::fill(p + 4 + length, p + 4 + padded(length), padding_);
  size_ += 4 + padded(length);
  set_length(size_ - kHeaderSize);
  return p + 4;
}

bool MessageBuilder::add_bytes(std::uint16_t type,
                               std::span<const std::uint8_t> value) {
  std::uint8_t* p = reserve(type, value.size());
  if (p == nullptr) return false;
  std::copy(value.begin(), value.end(), p);
  return true;
}

bool MessageBuilder::add_string(std::uint16_t type, std::string_view value) {
  return add_bytes(type, as_bytes(value));
}

bool MessageBuilder::add_u32(std::uint16_t type, std::uint32_t value) {
  std::uint8_t* p = reserve(type, 4);
  if (p == nullptr) return false;
  put32(p, value);
  return true;
}

bool MessageBuilder::add_u64(std::uint16_t type, std::uint64_t value) {
  std::uint8_t* p = reserve(type, 8);
  if (p == nullptr) return false;
  put32(p, static_cast<std::uint32_t>(value >> 32));
  put32(p + 4, static_cast<std::uint32_t>(value));
  return true;
}

bool MessageBuilder::add_xor_address(std::uint16_t type,
                                     const PeerAddress& address) {
  const sockaddr* sa = address.sockaddr_ptr();
  std::uint8_t mask[16];
  put32(mask, kMagicCookie);
  std::copy(buffer_.begin() + 8, buffer_.begin() + 20, mask + 4);
  const std::uint16_t xport =
      static_cast<std::uint16_t>(address.port() ^ (kMagicCookie >> 16));
  if (sa->sa_family == AF_INET) {
    std::uint8_t* p = reserve(type, 8);
    if (p == nullptr) return false;
    const auto* a = reinterpret_cast<const std::uint8_t*>(
        &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
    p[0] = 0;
    p[1] = 0x01;
    put16(p + 2, xport);
    for (int i = 0; i < 4; ++i) p[4 + i] = a[i] ^ mask[i];
    return true;
  }
  if (sa->sa_family == AF_INET6) {
    std::uint8_t* p = reserve(type, 20);
    if (p == nullptr) return false;
    const auto* a = reinterpret_cast<const std::uint8_t*>(
        &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
    p[0] = 0;
    p[1] = 0x02;
    put16(p + 2, xport);
    for (int i = 0; i < 16; ++i) p[4 + i] = a[i] ^ mask[i];
    return true;
  }
  ok_ = false;
  return false;
}

bool MessageBuilder::add_error_code(int code, std::string_view reason) {
  if (code < 300 || code > 699 || reason.size() > 763) {
    ok_ = false;
    return false;
  }
  std::uint8_t* p = reserve(attr::kErrorCode, 4 + reason.size());
  if (p == nullptr) return false;
  p[0] = 0;
  p[1] = 0;
  p[2] = static_cast<std::uint8_t>(code / 100);
  p[3] = static_cast<std::uint8_t>(code % 100);
  std::copy(reason.begin(), reason.end(), p + 4);
  return true;
}

bool MessageBuilder::add_unknown_attributes(
    std::span<const std::uint16_t> types) {
  std::uint8_t* p = reserve(attr::kUnknownAttributes, 2 * types.size());
  if (p == nullptr) return false;
  for (size_t i = 0; i < types.size(); ++i) put16(p + 2 * i, types[i]);
  return true;
}

bool MessageBuilder::add_integrity(std::span<const std::uint8_t> key) {
  const size_t at = size_;
  std::uint8_t* p = reserve(attr::kMessageIntegrity, kIntegritySize);
  if (p == nullptr) return false;
  // The header already counts MESSAGE-INTEGRITY (reserve updated it) and
  // nothing after it yet: exactly the §14.5 input.
  if (!hmac_sha1(key, std::span(buffer_).first(kHeaderSize),
                 std::span(buffer_).subspan(kHeaderSize, at - kHeaderSize),
                 p)) {
    ok_ = false;
    return false;
  }
  return true;
}

bool MessageBuilder::add_integrity(std::string_view key) {
  return add_integrity(as_bytes(key));
}

bool MessageBuilder::add_fingerprint() {
  const size_t at = size_;
  std::uint8_t* p = reserve(attr::kFingerprint, 4);
  if (p == nullptr) return false;
  put32(p, crc32_of(std::span(buffer_).first(at)) ^ kFingerprintXor);
  return true;
}

std::string_view error_reason(int code) {
  switch (code) {
    case 300:
      return "Try Alternate";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 420:
      return "Unknown Attribute";
    case 438:
      return "Stale Nonce";
    case 487:
      return "Role Conflict";
    case 500:
      return "Server Error";
    default:
      return "Error";
  }
}

}  // namespace dtls::stun
