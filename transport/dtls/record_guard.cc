#include "transport/dtls/record_guard.h"

namespace dtls {
namespace {

std::uint32_t u24(std::span<const std::uint8_t> p, size_t at) {
  return std::uint32_t{p[at]} << 16 | std::uint32_t{p[at + 1]} << 8 | p[at + 2];
}

// Every handshake fragment in a plaintext record must frame (RFC 6347
// §4.2.2): OpenSSL 3.0 ends the handshake with a fatal alert on a fragment
// longer than what is left of its record, one past its message's length, a
// message above its limit, or a HelloRequest with a body.
bool fragments_frame(std::span<const std::uint8_t> body, size_t max_message) {
  while (!body.empty()) {
    if (body.size() < kHandshakeHeaderSize) return false;
    const std::uint8_t type = body[0];
    const size_t message_length = u24(body, 1);
    const size_t offset = u24(body, 6);
    const size_t length = u24(body, 9);
    if (length > body.size() - kHandshakeHeaderSize) return false;
    if (offset + length > message_length || message_length > max_message)
      return false;
    if (type == kHandshakeHelloRequest && message_length != 0) return false;
    body = body.subspan(kHandshakeHeaderSize + length);
  }
  return true;
}

}  // namespace

std::string_view record_drop_name(RecordDrop reason) {
  switch (reason) {
    case RecordDrop::kMalformed:
      return "malformed";
    case RecordDrop::kUnknownType:
      return "unknown_type";
    case RecordDrop::kBadVersion:
      return "bad_version";
    case RecordDrop::kBadEpoch:
      return "bad_epoch";
    case RecordDrop::kTooShort:
      return "too_short";
    case RecordDrop::kTooLong:
      return "too_long";
    case RecordDrop::kPlaintext:
      return "plaintext_after_handshake";
    case RecordDrop::kUnexpected:
      return "unexpected_type";
    case RecordDrop::kReplayed:
      return "replayed";
    case RecordDrop::kEpochFlood:
      return "epoch_flood";
    case RecordDrop::kCount:
      break;
  }
  return "unknown";
}

std::uint64_t RecordDropStats::total() const {
  std::uint64_t sum = 0;
  for (std::uint64_t n : by_reason) sum += n;
  return sum;
}

RecordDropStats& RecordDropStats::operator+=(const RecordDropStats& other) {
  for (size_t i = 0; i < by_reason.size(); ++i)
    by_reason[i] += other.by_reason[i];
  return *this;
}

std::optional<RecordDrop> RecordGuard::check(const Record& record,
                                             const ReadState& state) const {
  const RecordHeader& h = record.header;
  if (h.content_type < kContentChangeCipherSpec ||
      h.content_type > kContentApplicationData) {
    return RecordDrop::kUnknownType;
  }
  if (h.version != kDtls10Version && h.version != kDtls12Version)
    return RecordDrop::kBadVersion;
  // Once open, protected records carry the negotiated version. Epoch-0 records
  // are judged below as plaintext: a correct peer's late ClientHello or
  // HelloVerifyRequest (a duplicate, a retransmission overtaken by the rest of
  // the handshake) carries DTLS 1.0 (RFC 6347 §4.2.1), and is no sign of a
  // bad version.
  if (state.open && h.epoch != 0 && h.version != state.version)
    return RecordDrop::kBadVersion;
  // Renegotiation is refused (SSL_OP_NO_RENEGOTIATION), so the peer's epoch
  // never passes 1.
  if (h.epoch > 1) return RecordDrop::kBadEpoch;
  const auto body = record.bytes.subspan(kRecordHeaderSize);

  if (h.epoch == 0) {
    // Once open, OpenSSL reads epoch 1 only; a correct peer's epoch-0 records
    // then are parts of a retransmitted last flight, which OpenSSL drops too
    // (its Finished, in epoch 1, is what makes us retransmit ours).
    if (state.open) return RecordDrop::kPlaintext;
    if (body.size() > kMaxPlaintextLength) return RecordDrop::kTooLong;
    switch (h.content_type) {
      case kContentApplicationData:
        // No keys, no data: OpenSSL 3.0 answers it with a fatal
        // unexpected_message.
        return RecordDrop::kUnexpected;
      case kContentAlert:
        // RFC 5246 §7.2: level (warning 1, fatal 2) and description; anything
        // else is a fatal alert in OpenSSL 3.0.
        if (body.size() != 2 || body[0] < 1 || body[0] > 2)
          return RecordDrop::kMalformed;
        break;
      case kContentChangeCipherSpec:
        // RFC 5246 §7.1: one byte, 1.
        if (body.size() != 1 || body[0] != 1) return RecordDrop::kMalformed;
        break;
      case kContentHandshake:
        if (!fragments_frame(body, state.max_handshake_message))
          return RecordDrop::kMalformed;
        break;
    }
    return std::nullopt;
  }

  // Epoch 1: protected. Its contents are OpenSSL's to authenticate; what can
  // be judged without the keys is its size and type.
  if (body.size() > kMaxProtectedLength) return RecordDrop::kTooLong;
  // An AEAD record carries at least its explicit nonce and tag; a CBC record
  // its IV and a block of MAC and padding. OpenSSL 3.0 before 3.0.22 ends the
  // association on an AEAD record shorter than that.
  if (body.size() < state.min_protected_length) return RecordDrop::kTooShort;
  // ChangeCipherSpec is always sent in the epoch before the change.
  if (h.content_type == kContentChangeCipherSpec)
    return RecordDrop::kUnexpected;
  if (!state.open) {
    if (state.epoch == 0 && early_protected_ >= kMaxEarlyProtectedRecords)
      return RecordDrop::kEpochFlood;
    return std::nullopt;
  }
  // RFC 6347 §4.1.2.6 anti-replay, over authenticated records only.
  if (any_authenticated_ && h.sequence <= max_authenticated_) {
    const std::uint64_t behind = max_authenticated_ - h.sequence;
    if (behind >= kReplayWindow || (window_ >> behind & 1) != 0)
      return RecordDrop::kReplayed;
  }
  return std::nullopt;
}

void RecordGuard::authenticated(std::uint64_t sequence) {
  if (!any_authenticated_) {
    any_authenticated_ = true;
    max_authenticated_ = sequence;
    window_ = 1;
    return;
  }
  if (sequence > max_authenticated_) {
    const std::uint64_t shift = sequence - max_authenticated_;
    window_ = shift >= kReplayWindow ? 1 : (window_ << shift) | 1;
    max_authenticated_ = sequence;
    return;
  }
  const std::uint64_t behind = max_authenticated_ - sequence;
  if (behind < kReplayWindow) window_ |= std::uint64_t{1} << behind;
}

void RecordGuard::count(RecordDrop reason) {
  drops_.by_reason[static_cast<size_t>(reason)]++;
  if (shared_ != nullptr) shared_->by_reason[static_cast<size_t>(reason)]++;
}

}  // namespace dtls
