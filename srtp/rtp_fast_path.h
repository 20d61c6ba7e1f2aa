// RTP without libsrtp per packet: one direction of an SrtpContext, for its
// first 16 SSRCs.
//
// libsrtp 2.5 spends 35-75 ns per packet of its own around the cipher (IV
// assembly, index estimation, a 1,024-bit shift of the replay window, calls
// through its cipher and auth tables), as much as a 200-byte packet's whole
// AES-GCM. Here a packet costs the bare cipher work (RtpCipher) plus a few
// arithmetic operations, with libsrtp's decisions: the same session keys
// (srtp_kdf), the same index estimation and replay window (ReplayWindow),
// the same order of checks, and the same count of the key's use (KeyUsage).
// srtp_context_differential_test holds the two to the same bytes and
// decisions.
//
// An SSRC is this path's or libsrtp's for the context's life: this path takes
// the first kMaxStreams SSRCs (a receiver's only once a packet of it
// authenticates, as libsrtp makes a stream only then) and declines every
// other, which the caller hands to libsrtp. SRTCP stays with libsrtp.
#ifndef DTLS_SRTP_SRTP_RTP_FAST_PATH_H_
#define DTLS_SRTP_SRTP_RTP_FAST_PATH_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "srtp/key_usage.h"
#include "srtp/replay_window.h"
#include "srtp/rtp_cipher.h"
#include "srtp/srtp_context.h"
#include "srtp/srtp_profile.h"
#include "transport/base/error.h"
#include "transport/base/prefetch.h"

namespace dtls::srtp {

class RtpFastPath {
 public:
  static constexpr size_t kMaxStreams = 16;

  // `master` is the master key || master salt of this direction. `usage` is
  // the direction's count and `soft_limit_events` its counter, shared with
  // libsrtp's path; both must outlive this. `protect_lines`, when given,
  // is kept holding the lines a protect() reads (a sender's, for a fan-out
  // to fetch ahead); it must outlive this too. ERR_SRTP_INIT when
  // OpenSSL refuses the key derivation.
  static Result<std::unique_ptr<RtpFastPath>> create(
      Profile profile, std::span<const std::uint8_t> master, bool outbound,
      const ContextOptions& options, KeyUsage* usage,
      std::uint64_t* soft_limit_events, FetchList* protect_lines = nullptr);
  ~RtpFastPath();
  RtpFastPath(const RtpFastPath&) = delete;
  RtpFastPath& operator=(const RtpFastPath&) = delete;

  // The packet is packet[0, length), its RTP header (CSRCs and extension
  // included) header_length octets and well formed; the buffer has room for
  // the tag after it. std::nullopt when the SSRC is libsrtp's.
  std::optional<PacketStatus> protect(std::uint8_t* packet, size_t length,
                                      size_t header_length);
  // The received packet[0, length), its header header_length octets and
  // followed by at least the tag. On kOk the plaintext is its first
  // length - tag() octets. std::nullopt when the SSRC is libsrtp's.
  std::optional<PacketStatus> unprotect(std::uint8_t* packet, size_t length,
                                        size_t header_length);

  size_t tag() const { return cipher_->tag(); }
  // SSRCs this path has taken (at most kMaxStreams).
  size_t stream_count() const;

 private:
  struct Streams;
  RtpFastPath(std::unique_ptr<RtpCipher> cipher, const ContextOptions& options,
              KeyUsage* usage, std::uint64_t* soft_limit_events,
              FetchList* protect_lines);
  bool start();  // the cipher's contexts and the stream table, on first use
  // The stream of `ssrc` (as it lies in the header), nullptr when a new one
  // may be taken, std::nullopt when the SSRC is libsrtp's.
  std::optional<ReplayWindow*> find(std::uint32_t ssrc);
  ReplayWindow* claim(std::uint32_t ssrc);  // nullptr: out of memory

  const std::unique_ptr<RtpCipher> cipher_;
  const size_t window_;
  const bool allow_repeat_tx_;
  KeyUsage* const usage_;
  std::uint64_t* const soft_limit_events_;
  // This object's lines, the cipher's and its OpenSSL context's, the stream
  // table's (from start()), then each stream's window and small ring (from
  // claim()), as room allows.
  FetchList* const protect_lines_;
  // Made on the first packet, so an idle session carries none.
  std::unique_ptr<Streams> streams_;
};

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_RTP_FAST_PATH_H_
