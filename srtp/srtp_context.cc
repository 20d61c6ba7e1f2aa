#include "srtp/srtp_context.h"

#include <srtp2/srtp.h>

#include <atomic>
#include <climits>
#include <mutex>
#include <optional>
#include <string>

#include "srtp/aes_gcm.h"
#include "srtp/hmac_sha1.h"
#include "srtp/libsrtp_policy.h"
#include "srtp/rtp_fast_path.h"

namespace dtls::srtp {
namespace {

constexpr size_t kRtpHeader = 12;
constexpr size_t kRtcpHeader = 8;

srtp_profile_t libsrtp_profile(Profile p) {
  switch (p) {
    case Profile::kAes128CmSha1_80:
      return srtp_profile_aes128_cm_sha1_80;
    case Profile::kAes128CmSha1_32:
      return srtp_profile_aes128_cm_sha1_32;
    case Profile::kAeadAes128Gcm:
      return srtp_profile_aead_aes_128_gcm;
    case Profile::kAeadAes256Gcm:
      return srtp_profile_aead_aes_256_gcm;
  }
  return srtp_profile_reserved;
}

PacketStatus status_of(srtp_err_status_t e) {
  switch (e) {
    case srtp_err_status_ok:
      return PacketStatus::kOk;
    case srtp_err_status_key_expired:
      return PacketStatus::kKeyLimit;
    case srtp_err_status_auth_fail:
      return PacketStatus::kAuthFailed;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
      return PacketStatus::kReplayed;
    case srtp_err_status_bad_param:
    case srtp_err_status_parse_err:
      return PacketStatus::kMalformed;
    default:
      return PacketStatus::kFailed;
  }
}

}  // namespace

srtp_err_status_t create_libsrtp_session(srtp_t* out, Profile profile,
                                         std::span<const std::uint8_t> master,
                                         bool outbound, size_t replay_window,
                                         bool allow_repeat_tx) {
  srtp_policy_t policy{};
  srtp_profile_t p = libsrtp_profile(profile);
  if (srtp_err_status_t e =
          srtp_crypto_policy_set_from_profile_for_rtp(&policy.rtp, p);
      e != srtp_err_status_ok) {
    return e;
  }
  if (srtp_err_status_t e =
          srtp_crypto_policy_set_from_profile_for_rtcp(&policy.rtcp, p);
      e != srtp_err_status_ok) {
    return e;
  }
  // Any SSRC: streams are made as SSRCs appear (an SFU does not know them
  // in advance; RFC 3711 §3.2.3 keys are per master key, not per SSRC).
  policy.ssrc.type = outbound ? ssrc_any_outbound : ssrc_any_inbound;
  // libsrtp reads key || salt and does not keep the pointer.
  policy.key = const_cast<std::uint8_t*>(master.data());
  policy.window_size = replay_window;
  policy.allow_repeat_tx = allow_repeat_tx ? 1 : 0;
  return srtp_create(out, &policy);
}

Errc packet_status_errc(PacketStatus s) {
  switch (s) {
    case PacketStatus::kOk:
      return Errc::kOther;
    case PacketStatus::kAuthFailed:
      return Errc::kSrtpAuthFailed;
    case PacketStatus::kReplayed:
      return Errc::kSrtpReplayed;
    case PacketStatus::kMalformed:
      return Errc::kSrtpMalformed;
    case PacketStatus::kTooShort:
      return Errc::kSrtpTooShort;
    case PacketStatus::kBufferTooSmall:
      return Errc::kSrtpBufferTooSmall;
    case PacketStatus::kFailed:
      return Errc::kSrtpFailed;
    case PacketStatus::kKeyLimit:
      return Errc::kSrtpKeyLimit;
  }
  return Errc::kSrtpFailed;
}

const char* packet_status_code(PacketStatus s) {
  // The names are literals: their views end in a NUL.
  return s == PacketStatus::kOk ? "OK"
                                : errc_name(packet_status_errc(s)).data();
}

Status ensure_initialized() {
  // srtp_init() registers the crypto kernel's globals and is not thread-safe:
  // made once per process, by whoever gets here first. What fails (out of
  // memory in the kernel's self-tests or in our types' replacement) is not
  // kept: the next session tries again, where a failure kept would refuse
  // SRTP to the process for good.
  static std::mutex mutex;
  static std::atomic<bool> done{false};
  if (done.load(std::memory_order_acquire)) return {};
  std::lock_guard<std::mutex> lock(mutex);
  if (done.load(std::memory_order_relaxed)) return {};
  // Never srtp_init() on a kernel that is up: libsrtp 2.5.0 then runs every
  // self-test again (and exit()s when one fails) and refuses to load its
  // "srtp" debug module twice. That module is srtp_init's last step, so
  // srtp_set_debug_module finds it once an srtp_init has completed, ours or
  // an application's that came first (whose kernel is then the process's).
  // Finding it also turns its debug output off, which this library never
  // turns on.
  if (srtp_set_debug_module("srtp", 0) != srtp_err_status_ok) {
    // From a clean kernel: one that failed part way (ours, or one an
    // application left half made) holds types that srtp_init would refuse
    // as duplicates, or is marked up without its last step, where srtp_init
    // would rerun every self-test. On a kernel never started this does
    // nothing.
    srtp_shutdown();
    const srtp_err_status_t status = srtp_init();
    if (status != srtp_err_status_ok) {
      return make_error(
          "ERR_SRTP_INIT",
          "srtp_init failed with libsrtp status " + std::to_string(status));
    }
  }
  // Replacing a type is idempotent: after a failure, both again next time.
  Status installed = install_hmac_sha1();
  if (installed.ok()) installed = install_aes_gcm();
  if (!installed.ok()) return installed;
  done.store(true, std::memory_order_release);
  return {};
}

size_t rtp_header_length(std::span<const std::uint8_t> p) {
  if (p.size() < kRtpHeader || (p[0] >> 6) != 2) return 0;
  size_t length = kRtpHeader + 4 * static_cast<size_t>(p[0] & 0x0f);
  if (p[0] & 0x10) {  // X: a 4-byte extension header, then its words
    if (p.size() < length + 4) return 0;
    length +=
        4 + 4 * ((static_cast<size_t>(p[length + 2]) << 8) | p[length + 3]);
  }
  return length <= p.size() ? length : 0;
}

struct SrtpContext::Handles {
  srtp_t outbound = nullptr;
  srtp_t inbound = nullptr;
  ~Handles() {
    if (outbound) srtp_dealloc(outbound);
    if (inbound) srtp_dealloc(inbound);
  }
};

SrtpContext::SrtpContext(const ProfileInfo& info, std::unique_ptr<Handles> h)
    : info_(info), handles_(std::move(h)) {}

srtp_ctx_t_* SrtpContext::libsrtp_session(bool outbound) const {
  return outbound ? handles_->outbound : handles_->inbound;
}

PacketStatus SrtpContext::from_libsrtp(int libsrtp_status) {
  PacketStatus s = status_of(static_cast<srtp_err_status_t>(libsrtp_status));
  // Also without the event (an application that replaced the handler).
  if (s == PacketStatus::kKeyLimit) key_limit_reached_ = true;
  return s;
}

SrtpContext::~SrtpContext() = default;

bool SrtpContext::use_key(KeyUsage& usage) {
  if (usage.use(counters_.key_soft_limit_events)) return true;
  key_limit_reached_ = true;
  return false;
}

Status validate_context_options(const ContextOptions& options) {
  // libsrtp takes 64..32767 packets (srtp_stream_init refuses 0x8000 and up).
  if (options.replay_window < 64 || options.replay_window >= 0x8000) {
    return make_error("ERR_OUT_OF_RANGE",
                      "srtp_replay_window must be 64..32767 packets, got " +
                          std::to_string(options.replay_window));
  }
  return {};
}

Result<std::unique_ptr<SrtpContext>> SrtpContext::create(
    const SrtpKeys& keys, Side side, ContextOptions options) {
  const ProfileInfo& info = profile_info(keys.profile);
  if (keys.client_key.size() != info.key_length ||
      keys.server_key.size() != info.key_length ||
      keys.client_salt.size() != info.salt_length ||
      keys.server_salt.size() != info.salt_length) {
    return make_error("ERR_SRTP_KEY_LENGTH",
                      std::string(info.name) + " takes " +
                          std::to_string(info.key_length) + "-byte keys and " +
                          std::to_string(info.salt_length) + "-byte salts");
  }
  if (Status s = validate_context_options(options); !s.ok()) return s.error();
  if (Status s = ensure_initialized(); !s.ok()) return s.error();
  auto h = std::make_unique<Handles>();
  for (bool outbound : {true, false}) {
    SecretBytes master =
        outbound ? keys.outbound_master(side) : keys.inbound_master(side);
    srtp_t& ctx = outbound ? h->outbound : h->inbound;
    if (srtp_err_status_t e = create_libsrtp_session(
            &ctx, keys.profile, master, outbound, options.replay_window,
            options.allow_repeat_tx);
        e != srtp_err_status_ok) {
      ctx = nullptr;
      return make_error(
          "ERR_SRTP_INIT",
          "srtp_create failed with libsrtp status " + std::to_string(e));
    }
  }
  std::unique_ptr<SrtpContext> c(new SrtpContext(info, std::move(h)));
  for (bool outbound : {true, false}) {
    SecretBytes master =
        outbound ? keys.outbound_master(side) : keys.inbound_master(side);
    auto fast =
        RtpFastPath::create(keys.profile, master, outbound, options,
                            outbound ? &c->outbound_usage_ : &c->inbound_usage_,
                            &c->counters_.key_soft_limit_events,
                            outbound ? &c->protect_lines_ : nullptr);
    if (!fast.ok()) return fast.error();
    (outbound ? c->outbound_fast_ : c->inbound_fast_) = std::move(fast).value();
  }
  return c;
}

PacketResult SrtpContext::protect_rtp_packet(std::span<std::uint8_t> buffer,
                                             size_t length) {
  PacketResult r;
  if (key_limit_reached_) return {PacketStatus::kKeyLimit, 0};
  if (length > buffer.size() || length < kRtpHeader)
    return {PacketStatus::kTooShort, 0};
  const size_t header = rtp_header_length(buffer.first(length));
  if (header == 0) return {PacketStatus::kMalformed, 0};
  if (buffer.size() - length < rtp_trailer() || length > INT_MAX / 2)
    return {PacketStatus::kBufferTooSmall, 0};
  if (outbound_fast_) {
    if (std::optional<PacketStatus> s =
            outbound_fast_->protect(buffer.data(), length, header)) {
      if (*s == PacketStatus::kKeyLimit) key_limit_reached_ = true;
      return {*s, *s == PacketStatus::kOk ? length + rtp_trailer() : 0};
    }
  }
  // Counted before libsrtp's own count, as libsrtp counts: every packet with
  // a valid header (srtp_protect_mki).
  if (!use_key(outbound_usage_)) return {PacketStatus::kKeyLimit, 0};
  int len = static_cast<int>(length);
  r.status =
      from_libsrtp(srtp_protect(handles_->outbound, buffer.data(), &len));
  r.length = r.ok() ? static_cast<size_t>(len) : 0;
  return r;
}

void SrtpContext::prefetch_protect_rtp(int step) const {
  if (step == 0) {
    prefetch_object(this);
  } else if (step == 1) {
    protect_lines_.prefetch();
  }
}

PacketResult SrtpContext::protect_rtp(std::span<std::uint8_t> buffer,
                                      size_t length) {
  PacketResult r = protect_rtp_packet(buffer, length);
  if (r.ok()) {
    counters_.rtp_packets_protected++;
    counters_.rtp_bytes_protected += length;
  } else {
    counters_.protect_failures++;
  }
  return r;
}

PacketResult SrtpContext::protect_rtcp(std::span<std::uint8_t> buffer,
                                       size_t length) {
  PacketResult r;
  if (key_limit_reached_) {
    r.status = PacketStatus::kKeyLimit;
  } else if (length > buffer.size() || length < kRtcpHeader) {
    r.status = PacketStatus::kTooShort;
  } else if ((buffer[0] >> 6) != 2) {
    r.status = PacketStatus::kMalformed;
  } else if (buffer.size() - length < rtcp_trailer() || length > INT_MAX / 2) {
    r.status = PacketStatus::kBufferTooSmall;
  } else {
    int len = static_cast<int>(length);
    r.status = from_libsrtp(
        srtp_protect_rtcp(handles_->outbound, buffer.data(), &len));
    r.length = static_cast<size_t>(len);
  }
  if (r.ok()) {
    counters_.rtcp_packets_protected++;
    counters_.rtcp_bytes_protected += length;
  } else {
    counters_.protect_failures++;
  }
  return r;
}

PacketResult SrtpContext::count_inbound(PacketStatus s, size_t length) {
  switch (s) {
    case PacketStatus::kOk:
      break;
    case PacketStatus::kAuthFailed:
      counters_.auth_failures++;
      break;
    case PacketStatus::kReplayed:
      counters_.replay_failures++;
      break;
    case PacketStatus::kMalformed:
      counters_.malformed++;
      break;
    case PacketStatus::kTooShort:
      counters_.too_short++;
      break;
    case PacketStatus::kBufferTooSmall:
    case PacketStatus::kFailed:
    case PacketStatus::kKeyLimit:
      counters_.other_failures++;
      break;
  }
  return {s, s == PacketStatus::kOk ? length : 0};
}

PacketResult SrtpContext::unprotect_rtp(std::span<std::uint8_t> packet) {
  if (key_limit_reached_) return count_inbound(PacketStatus::kKeyLimit, 0);
  if (packet.size() < kRtpHeader + rtp_trailer())
    return count_inbound(PacketStatus::kTooShort, 0);
  if (packet.size() > INT_MAX / 2)
    return count_inbound(PacketStatus::kFailed, 0);
  const size_t header =
      rtp_header_length(packet.first(packet.size() - rtp_trailer()));
  if (header == 0) return count_inbound(PacketStatus::kMalformed, 0);
  int len = static_cast<int>(packet.size());
  PacketStatus s = PacketStatus::kFailed;
  if (std::optional<PacketStatus> fast =
          inbound_fast_
              ? inbound_fast_->unprotect(packet.data(), packet.size(), header)
              : std::nullopt) {
    s = *fast;
    if (s == PacketStatus::kKeyLimit) key_limit_reached_ = true;
    len -= static_cast<int>(rtp_trailer());
  } else {
    s = from_libsrtp(srtp_unprotect(handles_->inbound, packet.data(), &len));
    // libsrtp counts a packet's use of the key after the replay check: for
    // AEAD before the tag is checked, for AES-CM once it verified
    // (srtp_unprotect_aead, srtp_unprotect_mki). A packet that reaches the
    // hard limit here is refused, as libsrtp refuses it.
    const bool used = s == PacketStatus::kOk ||
                      (info_.aead && s == PacketStatus::kAuthFailed);
    if (used && !use_key(inbound_usage_)) s = PacketStatus::kKeyLimit;
  }
  if (s == PacketStatus::kOk) {
    counters_.rtp_packets_unprotected++;
    counters_.rtp_bytes_unprotected += static_cast<size_t>(len);
  }
  return count_inbound(s, static_cast<size_t>(len));
}

PacketResult SrtpContext::unprotect_rtcp(std::span<std::uint8_t> packet) {
  if (key_limit_reached_) return count_inbound(PacketStatus::kKeyLimit, 0);
  if (packet.size() < kRtcpHeader + rtcp_trailer())
    return count_inbound(PacketStatus::kTooShort, 0);
  if (packet.size() > INT_MAX / 2)
    return count_inbound(PacketStatus::kFailed, 0);
  if ((packet[0] >> 6) != 2) return count_inbound(PacketStatus::kMalformed, 0);
  int len = static_cast<int>(packet.size());
  PacketStatus s =
      from_libsrtp(srtp_unprotect_rtcp(handles_->inbound, packet.data(), &len));
  if (s == PacketStatus::kOk) {
    counters_.rtcp_packets_unprotected++;
    counters_.rtcp_bytes_unprotected += static_cast<size_t>(len);
  }
  return count_inbound(s, static_cast<size_t>(len));
}

}  // namespace dtls::srtp
