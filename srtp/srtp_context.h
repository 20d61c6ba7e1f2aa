// One session's SRTP: an outbound and an inbound libsrtp context built from
// DTLS-SRTP keys. Protects and unprotects RTP and RTCP in place in the
// caller's buffer, with no heap allocation per packet (once per new SSRC).
// The RTP of the first 16 SSRCs each way goes through RtpFastPath instead of
// libsrtp, with libsrtp's keys and decisions at the cost of the bare cipher.
// Not thread-safe: one owner, one thread.
#ifndef DTLS_SRTP_SRTP_SRTP_CONTEXT_H_
#define DTLS_SRTP_SRTP_SRTP_CONTEXT_H_

#include <cstdint>
#include <memory>
#include <span>

#include "srtp/key_usage.h"
#include "srtp/srtp_keys.h"
#include "srtp/srtp_profile.h"
#include "transport/base/error.h"
#include "transport/base/prefetch.h"

struct srtp_ctx_t_;  // libsrtp's session (srtp_t)

namespace dtls::srtp {

// Per-packet outcomes, without allocation (an Error carries strings).
enum class PacketStatus : std::uint8_t {
  kOk,
  kAuthFailed,      // the tag did not verify (tampered, or other keys)
  kReplayed,        // seen before, or older than the replay window
  kMalformed,       // not a parseable RTP/RTCP header
  kTooShort,        // shorter than a header plus the trailer
  kBufferTooSmall,  // protect: no room for the trailer after the packet
  kFailed,          // anything else libsrtp reports
  // A master key reached its hard limit (RFC 3711 §9.2): the context refuses
  // every packet from then on.
  kKeyLimit,
};

// The stable code: "ERR_SRTP_AUTH_FAILED", "ERR_SRTP_REPLAYED", ...
const char* packet_status_code(PacketStatus s);
Errc packet_status_errc(PacketStatus s);

struct PacketResult {
  PacketStatus status = PacketStatus::kFailed;
  size_t length = 0;  // the packet's new length when ok
  bool ok() const { return status == PacketStatus::kOk; }
};

struct MediaCounters {
  std::uint64_t rtp_packets_protected = 0;
  std::uint64_t rtp_bytes_protected = 0;  // plaintext bytes in
  std::uint64_t rtcp_packets_protected = 0;
  std::uint64_t rtcp_bytes_protected = 0;
  std::uint64_t rtp_packets_unprotected = 0;
  std::uint64_t rtp_bytes_unprotected = 0;  // plaintext bytes out
  std::uint64_t rtcp_packets_unprotected = 0;
  std::uint64_t rtcp_bytes_unprotected = 0;
  // Inbound failures by kind (never delivered).
  std::uint64_t auth_failures = 0;
  std::uint64_t replay_failures = 0;
  std::uint64_t malformed = 0;
  std::uint64_t too_short = 0;
  std::uint64_t other_failures = 0;
  // Outbound packets refused (malformed, too short, no room, ...).
  std::uint64_t protect_failures = 0;
  // Soft-limit events (RFC 3711 §9.2, counted as libsrtp counts them): one per
  // RTP packet a master key protects or unprotects within 2^16 packets of its
  // limit (2^48). Nothing re-keys a DTLS-SRTP session here, so this warns
  // that it will end.
  std::uint64_t key_soft_limit_events = 0;
};

struct ContextOptions {
  // Inbound replay window in packets (RFC 3711 §3.3.2; libsrtp takes
  // 64..32767).
  size_t replay_window = 1024;
  // Let the same sequence number be protected twice (retransmissions);
  // WebRTC stacks do.
  bool allow_repeat_tx = true;
};

// ERR_OUT_OF_RANGE for a replay window outside 64..32767 (the message names
// the API's option, srtp_replay_window).
Status validate_context_options(const ContextOptions& options);

// Makes sure libsrtp is initialised: once per process, from any thread. It
// installs no event handler: SrtpContext counts its keys' use itself
// (KeyUsage), and libsrtp's handler is the process's, free for an
// application's own libsrtp sessions.
Status ensure_initialized();

struct SrtpContextTesting;
class RtpFastPath;

class SrtpContext {
 public:
  // ERR_SRTP_KEY_LENGTH for keys of the wrong size for their profile,
  // ERR_OUT_OF_RANGE for a replay window outside 64..32767, ERR_SRTP_INIT when
  // libsrtp refuses.
  static Result<std::unique_ptr<SrtpContext>> create(
      const SrtpKeys& keys, Side side, ContextOptions options = {});
  ~SrtpContext();
  SrtpContext(const SrtpContext&) = delete;
  SrtpContext& operator=(const SrtpContext&) = delete;

  // The packet is buffer[0, length); the trailer is written after it, so the
  // buffer needs rtp_trailer()/rtcp_trailer() bytes of room past `length`.
  PacketResult protect_rtp(std::span<std::uint8_t> buffer, size_t length);
  PacketResult protect_rtcp(std::span<std::uint8_t> buffer, size_t length);
  // The whole span is one received packet; on success the plaintext is its
  // first `length` bytes.
  PacketResult unprotect_rtp(std::span<std::uint8_t> packet);
  PacketResult unprotect_rtcp(std::span<std::uint8_t> packet);

  // What protect_rtp() reads, fetched ahead by a sender with other packets
  // to protect first (a fan-out): step 0 fetches this object, step 1 (a
  // packet's time later, once that has come in) the lines the fast path
  // listed: its own, the cipher's and its OpenSSL context's (not the
  // provider's key schedule behind it), the stream table's, and each
  // stream's window and small ring, as room allows. Nothing for packets
  // libsrtp protects. Two steps: the cases of prefetch_protect_rtp.
  static constexpr int kProtectPrefetchSteps = 2;
  void prefetch_protect_rtp(int step) const;

  size_t rtp_trailer() const { return info_.rtp_tag_length; }
  size_t rtcp_trailer() const {
    return kSrtcpIndexLength + info_.rtcp_tag_length;
  }
  Profile profile() const { return info_.profile; }
  const MediaCounters& counters() const { return counters_; }
  // Whether a master key (either direction) reached its hard limit: every
  // packet is then refused with kKeyLimit, and the session must end.
  bool key_limit_reached() const { return key_limit_reached_; }

 private:
  friend struct SrtpContextTesting;
  struct Handles;
  SrtpContext(const ProfileInfo& info, std::unique_ptr<Handles> h);
  PacketResult protect_rtp_packet(std::span<std::uint8_t> buffer,
                                  size_t length);
  PacketResult count_inbound(PacketStatus s, size_t length);
  PacketStatus from_libsrtp(int libsrtp_status);
  srtp_ctx_t_* libsrtp_session(bool outbound) const;
  // One RTP packet on a master key (RFC 3711 §9.2); false at its hard limit,
  // which ends the context.
  bool use_key(KeyUsage& usage);

  const ProfileInfo& info_;
  std::unique_ptr<Handles> handles_;
  MediaCounters counters_;
  bool key_limit_reached_ = false;
  KeyUsage outbound_usage_;
  KeyUsage inbound_usage_;
  FetchList protect_lines_;  // kept by outbound_fast_
  // The RTP of the first 16 SSRCs each way; declared after what they point
  // to.
  std::unique_ptr<RtpFastPath> outbound_fast_;
  std::unique_ptr<RtpFastPath> inbound_fast_;
};

// RTP header checks libsrtp leaves loose (RFC 3550 §5.1, §5.3.1): version 2,
// and the CSRC list and header extension inside `length`. Returns the header
// length, or 0 when malformed.
size_t rtp_header_length(std::span<const std::uint8_t> packet);

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_SRTP_CONTEXT_H_
