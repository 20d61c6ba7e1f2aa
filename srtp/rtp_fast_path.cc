#include "srtp/rtp_fast_path.h"

#include <cstring>
#include <new>

#include "srtp/cm_rtp_cipher.h"
#include "srtp/gcm_rtp_cipher.h"

namespace dtls::srtp {
namespace {

std::uint32_t ssrc_of(const std::uint8_t* header) {
  std::uint32_t ssrc;                            // network order: only compared
  std::memcpy(&ssrc, header + 8, sizeof(ssrc));  // RFC 3550 §5.1
  return ssrc;
}

std::uint16_t seq_of(const std::uint8_t* header) {
  return static_cast<std::uint16_t>((header[2] << 8) | header[3]);
}

}  // namespace

struct RtpFastPath::Streams {
  size_t count = 0;
  std::array<std::uint32_t, kMaxStreams> ssrcs{};
  std::array<std::optional<ReplayWindow>, kMaxStreams> windows;
};

Result<std::unique_ptr<RtpFastPath>> RtpFastPath::create(
    Profile profile, std::span<const std::uint8_t> master, bool outbound,
    const ContextOptions& options, KeyUsage* usage,
    std::uint64_t* soft_limit_events, FetchList* protect_lines) {
  auto cipher = profile_info(profile).aead
                    ? make_gcm_rtp_cipher(profile, master, outbound)
                    : make_cm_rtp_cipher(profile, master);
  if (!cipher.ok()) return cipher.error();
  return std::unique_ptr<RtpFastPath>(
      new RtpFastPath(std::move(cipher).value(), options, usage,
                      soft_limit_events, protect_lines));
}

RtpFastPath::RtpFastPath(std::unique_ptr<RtpCipher> cipher,
                         const ContextOptions& options, KeyUsage* usage,
                         std::uint64_t* soft_limit_events,
                         FetchList* protect_lines)
    : cipher_(std::move(cipher)),
      window_(options.replay_window),
      allow_repeat_tx_(options.allow_repeat_tx),
      usage_(usage),
      soft_limit_events_(soft_limit_events),
      protect_lines_(protect_lines) {}

RtpFastPath::~RtpFastPath() = default;

size_t RtpFastPath::stream_count() const {
  return streams_ ? streams_->count : 0;
}

// Out of memory here fails the packet, as libsrtp's alloc_fail does, and the
// next packet tries again: the cipher keeps its keys until it has started.
bool RtpFastPath::start() {
  std::unique_ptr<Streams> streams(new (std::nothrow) Streams);
  if (streams == nullptr || !cipher_->start()) return false;
  streams_ = std::move(streams);
  // Listed once here and as streams come (claim), not per packet: keeping a
  // list per packet cost GCM's protect at 200 B a few percent.
  if (protect_lines_ != nullptr) {
    FetchList& lines = *protect_lines_;
    lines.resize(0);
    lines.add(this, sizeof(*this));
    cipher_->add_seal_lines(lines);
    // The count and the SSRCs, which find() reads.
    const auto* table = reinterpret_cast<const char*>(streams_.get());
    lines.add(table, reinterpret_cast<const char*>(&streams_->windows) - table);
  }
  return true;
}

std::optional<ReplayWindow*> RtpFastPath::find(std::uint32_t ssrc) {
  for (size_t i = 0; i < streams_->count; ++i) {
    if (streams_->ssrcs[i] == ssrc) return &*streams_->windows[i];
  }
  if (streams_->count == kMaxStreams) return std::nullopt;
  return nullptr;
}

// nullptr when out of memory (libsrtp's alloc_fail): the slot stays free.
ReplayWindow* RtpFastPath::claim(std::uint32_t ssrc) {
  const size_t i = streams_->count;
  try {
    streams_->windows[i].emplace(window_);
  } catch (const std::bad_alloc&) {
    return nullptr;
  }
  streams_->ssrcs[i] = ssrc;
  streams_->count++;
  ReplayWindow* w = &*streams_->windows[i];
  if (protect_lines_ != nullptr) {
    // The window, and its ring when it is one line or less (the default
    // window's is 16 bytes): a larger ring's word moves with the packets.
    protect_lines_->add(w, sizeof(*w));
    if (w->ring_bytes() <= kCacheLine)
      protect_lines_->add(w->ring(), w->ring_bytes());
  }
  return w;
}

// In libsrtp's order (srtp_protect_mki and its AEAD and AES-CM halves): the
// stream (made for a new SSRC), the key's count, then the index and replay
// check, then the cipher.
std::optional<PacketStatus> RtpFastPath::protect(std::uint8_t* packet,
                                                 size_t length,
                                                 size_t header_length) {
  if (!streams_ && !start()) return PacketStatus::kFailed;
  const std::uint32_t ssrc = ssrc_of(packet);
  const std::optional<ReplayWindow*> found = find(ssrc);
  if (!found) return std::nullopt;
  ReplayWindow* window = *found ? *found : claim(ssrc);
  if (window == nullptr) return PacketStatus::kFailed;
  // RFC 3711 §9.2.
  if (!usage_->use(*soft_limit_events_)) return PacketStatus::kKeyLimit;
  const ReplayWindow::Estimate e = window->estimate(seq_of(packet));
  // A sender refuses to reuse an index unless retransmissions are allowed,
  // and never goes back past its window.
  switch (window->check(e.delta)) {
    case ReplayWindow::Check::kOk:
      break;
    case ReplayWindow::Check::kReplayed:
      if (allow_repeat_tx_) break;
      return PacketStatus::kReplayed;
    case ReplayWindow::Check::kTooOld:
      return PacketStatus::kReplayed;
  }
  window->add(e.delta);
  return cipher_->seal(packet, length, header_length, e.index)
             ? PacketStatus::kOk
             : PacketStatus::kFailed;
}

// In libsrtp's order (srtp_unprotect_mki and its halves): the index and
// replay check (none for an SSRC not seen yet), then the cipher, which
// charges the key where libsrtp does; only an authenticated packet makes a
// stream or moves the window.
std::optional<PacketStatus> RtpFastPath::unprotect(std::uint8_t* packet,
                                                   size_t length,
                                                   size_t header_length) {
  if (!streams_ && !start()) return PacketStatus::kFailed;
  const std::uint32_t ssrc = ssrc_of(packet);
  const std::optional<ReplayWindow*> found = find(ssrc);
  if (!found) return std::nullopt;
  ReplayWindow* window = *found;
  const std::uint16_t seq = seq_of(packet);
  // A new SSRC's first packet stands at index = its sequence number (ROC 0),
  // as libsrtp's provisional stream takes it.
  ReplayWindow::Estimate e{seq, seq};
  if (window != nullptr) {
    e = window->estimate(seq);
    if (window->check(e.delta) != ReplayWindow::Check::kOk)
      return PacketStatus::kReplayed;
  }
  const PacketStatus s = cipher_->open(packet, length, header_length, e.index,
                                       {usage_, soft_limit_events_});
  if (s != PacketStatus::kOk) return s;
  if (window == nullptr) window = claim(ssrc);
  if (window == nullptr) return PacketStatus::kFailed;
  window->add(e.delta);
  return PacketStatus::kOk;
}

}  // namespace dtls::srtp
