#include "transport/dtls/dtls_record.h"

namespace dtls {
namespace {

// A bounds-checked big-endian reader over untrusted bytes.
class Reader {
 public:
  explicit Reader(std::span<const std::uint8_t> data) : data_(data) {}

  bool u8(std::uint8_t& v) { return read(1, v); }
  bool u16(std::uint16_t& v) { return read(2, v); }
  bool u24(std::uint32_t& v) { return read(3, v); }
  bool u48(std::uint64_t& v) { return read(6, v); }
  bool bytes(size_t n, std::span<const std::uint8_t>& out) {
    if (remaining() < n) return false;
    out = data_.subspan(pos_, n);
    pos_ += n;
    return true;
  }
  size_t remaining() const { return data_.size() - pos_; }

 private:
  template <typename T>
  bool read(size_t n, T& v) {
    if (remaining() < n) return false;
    T out = 0;
    for (size_t i = 0; i < n; ++i)
      out = static_cast<T>((out << 8) | data_[pos_ + i]);
    pos_ += n;
    v = out;
    return true;
  }

  std::span<const std::uint8_t> data_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<RecordHeader> parse_record_header(
    std::span<const std::uint8_t> datagram) {
  Reader r(datagram);
  RecordHeader h;
  if (!r.u8(h.content_type) || !r.u16(h.version) || !r.u16(h.epoch) ||
      !r.u48(h.sequence) || !r.u16(h.length)) {
    return std::nullopt;
  }
  if (h.length > r.remaining()) return std::nullopt;
  return h;
}

std::optional<ClientHelloPrefix> parse_client_hello_prefix(
    std::span<const std::uint8_t> datagram) {
  auto record = parse_record_header(datagram);
  // RFC 6347 §4.1: a ClientHello travels in epoch 0; DTLS versions have major
  // byte 0xFE (0x0100 is OpenSSL's pre-standard DTLS1_BAD_VER, not accepted
  // here).
  if (!record || record->content_type != kContentHandshake ||
      record->epoch != 0 || (record->version >> 8) != 0xFE) {
    return std::nullopt;
  }
  Reader r(datagram.subspan(kRecordHeaderSize, record->length));
  ClientHelloPrefix p;
  p.record = *record;
  std::uint8_t msg_type = 0;
  std::uint32_t fragment_offset = 0;
  if (!r.u8(msg_type) || !r.u24(p.message_length) || !r.u16(p.message_seq) ||
      !r.u24(fragment_offset) || !r.u24(p.fragment_length)) {
    return std::nullopt;
  }
  // Only the first fragment carries the cookie (RFC 6347 §4.2.3 fragments keep
  // field order); later fragments cannot be checked without state, so they are
  // not ClientHello prefixes.
  if (msg_type != kHandshakeClientHello || fragment_offset != 0 ||
      p.fragment_length > p.message_length ||
      p.fragment_length > r.remaining()) {
    return std::nullopt;
  }
  Reader body(datagram.subspan(kRecordHeaderSize + kHandshakeHeaderSize,
                               p.fragment_length));
  std::uint8_t session_len = 0, cookie_len = 0;
  if (!body.u16(p.client_version) || !body.bytes(32, p.random) ||
      !body.u8(session_len) || session_len > 32 ||
      !body.bytes(session_len, p.session_id) || !body.u8(cookie_len) ||
      !body.bytes(cookie_len, p.cookie)) {
    return std::nullopt;
  }
  if ((p.client_version >> 8) != 0xFE) return std::nullopt;
  return p;
}

}  // namespace dtls
