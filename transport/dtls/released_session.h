// An established association after OpenSSL has let it go: its record keys
// (RecordCipher), the next sequence number it writes, and what the getters
// report (SessionFacts). About 7 KiB, most of it the SSL_SESSION and the
// peer's certificate, instead of OpenSSL's ~35 KiB per SSL after a DTLS
// handshake (its handshake message buffer alone is ~21 KiB and no public call
// frees it).
//
// What it cannot do is the handshake's: answer the peer's retransmitted last
// flight, or renegotiate (refused anyway). DtlsAssociation lets OpenSSL go
// only when neither can be needed (RFC 6347 §4.2.4).
#ifndef DTLS_SRTP_TRANSPORT_DTLS_RELEASED_SESSION_H_
#define DTLS_SRTP_TRANSPORT_DTLS_RELEASED_SESSION_H_

#include <openssl/ssl.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "transport/base/error.h"
#include "transport/dtls/dtls_record.h"
#include "transport/dtls/record_cipher.h"
#include "transport/dtls/session_facts.h"

namespace dtls {

class ReleasedSession {
 public:
  // From `ssl` after its handshake: `next_sequence` is above every epoch-1
  // record OpenSSL wrote. ERR_DTLS_INTERNAL for a suite RecordCipher does not
  // do; then OpenSSL keeps the association.
  static Result<std::unique_ptr<ReleasedSession>> capture(
      const SSL* ssl, bool client, std::uint64_t next_sequence);

  const SessionFacts& facts() const { return facts_; }
  size_t expansion() const { return cipher_.expansion(); }
  std::uint16_t version() const { return version_; }

  // One record of `content_type` in one datagram, into `out` (sized by the
  // caller: header, plaintext and expansion()). 0 when it does not fit or the
  // sequence numbers have run out (2^48 records: RFC 6347 §4.1 forbids
  // wrapping them).
  size_t seal(std::uint8_t content_type,
              std::span<const std::uint8_t> plaintext,
              std::span<std::uint8_t> out);
  // What a record from the peer (one the record guard let through) was.
  struct Received {
    enum class Kind {
      kDropped,        // it did not authenticate: dropped silently
      kIgnored,        // authenticated, nothing to do (a warning alert, an
                       // empty record, the peer's repeated handshake)
      kData,           // application data: `data`
      kCloseNotify,    // RFC 5246 §7.2.1
      kFatalAlert,     // the peer's: `alert` is its description
      kRenegotiation,  // the peer asks for a new handshake
      kMalformed,      // an alert OpenSSL would end the session for: `alert`
                       // is the fatal one to answer with, `why` says why
    };
    Kind kind = Kind::kDropped;
    std::span<std::uint8_t> data;
    int alert = 0;
    std::string_view why;
  };
  // Decrypts `record` into `out` (not overlapping it) and says what it was,
  // as OpenSSL's record layer would have. `client`: this end's role (which
  // handshake message asks for renegotiation).
  Received read(const RecordHeader& header,
                std::span<const std::uint8_t> record,
                std::span<std::uint8_t> out, bool client);

  // Marks the session not resumable, as OpenSSL does to one that ended
  // badly (a fatal alert, no close_notify): SSL_CTX_remove_session on the
  // context it was made under.
  void forget_session(SSL_CTX* ctx) const;

  // RFC 5705 §4 for DTLS 1.2, as OpenSSL computes it (the labels it reserves
  // refused the same way).
  Result<std::vector<std::uint8_t>> export_keying_material(
      size_t length, std::string_view label,
      std::optional<std::span<const std::uint8_t>> context) const;

 private:
  ReleasedSession(RecordCipher cipher, SessionFacts facts,
                  std::uint64_t next_sequence, std::uint16_t version)
      : cipher_(std::move(cipher)),
        facts_(std::move(facts)),
        next_sequence_(next_sequence),
        version_(version) {}

  RecordCipher cipher_;
  SessionFacts facts_;
  std::uint64_t next_sequence_;
  std::uint16_t version_;
  // Warning alerts in a row (OpenSSL's MAX_WARN_ALERT_COUNT: the fifth ends
  // the session); application data resets it.
  int warnings_in_a_row_ = 0;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_RELEASED_SESSION_H_
