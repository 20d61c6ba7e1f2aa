// The cipher and authentication of one direction's SRTP packets, keyed with
// its session keys: what RtpFastPath runs per packet once it has numbered the
// packet. GcmRtpCipher (RFC 7714) and CmRtpCipher (RFC 3711 AES-CM with
// HMAC-SHA1) implement it.
#ifndef DTLS_SRTP_SRTP_RTP_CIPHER_H_
#define DTLS_SRTP_SRTP_RTP_CIPHER_H_

#include <cstddef>
#include <cstdint>

#include "srtp/key_usage.h"
#include "srtp/srtp_context.h"
#include "transport/base/prefetch.h"

namespace dtls::srtp {

class RtpCipher {
 public:
  virtual ~RtpCipher() = default;
  RtpCipher(const RtpCipher&) = delete;
  RtpCipher& operator=(const RtpCipher&) = delete;

  size_t tag() const { return tag_; }

  // Sets up the OpenSSL contexts, on the first packet, so an idle session
  // carries none. False when OpenSSL refuses (or runs out of memory); the
  // keys are kept then, so a later call may try again. Once it succeeded,
  // later calls do nothing: the session keys are wiped.
  virtual bool start() = 0;
  // Protects packet[0, length), whose RTP header is `header` octets: the
  // payload is encrypted in place and tag() octets are written at
  // packet + length. `index` is the packet's 48-bit index (ROC || SEQ).
  virtual bool seal(std::uint8_t* packet, size_t length, size_t header,
                    std::uint64_t index) = 0;
  // packet[0, length) ends with the tag. kOk with the payload decrypted in
  // place, kAuthFailed, kKeyLimit, or kFailed when OpenSSL fails. The packet
  // is charged to `charge` where libsrtp 2.5 charges it (RFC 3711 §9.2):
  // before its tag is checked under AEAD (srtp_unprotect_aead), once the tag
  // verified and before decrypting under AES-CM (srtp_unprotect_mki); at the
  // hard limit it is refused with kKeyLimit. After kAuthFailed the payload
  // may have been overwritten.
  virtual PacketStatus open(std::uint8_t* packet, size_t length, size_t header,
                            std::uint64_t index, KeyCharge charge) = 0;
  // Adds the lines of this object and, once started, of its OpenSSL context
  // (not the provider's context behind it: add_context_lines).
  virtual void add_seal_lines(FetchList& out) const = 0;

 protected:
  explicit RtpCipher(size_t tag) : tag_(tag) {}

 private:
  const size_t tag_;
};

}  // namespace dtls::srtp

#endif  // DTLS_SRTP_SRTP_RTP_CIPHER_H_
