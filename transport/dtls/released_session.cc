#include "transport/dtls/released_session.h"

#include <openssl/crypto.h>
#include <openssl/tls1.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace dtls {

namespace {
constexpr std::uint64_t kSequenceLimit = std::uint64_t{1} << 48;
// OpenSSL's MAX_WARN_ALERT_COUNT (ssl/record/record.h).
constexpr int kMaxWarningsInARow = 5;
}  // namespace

Result<std::unique_ptr<ReleasedSession>> ReleasedSession::capture(
    const SSL* ssl, bool client, std::uint64_t next_sequence) {
  auto cipher = RecordCipher::from_ssl(ssl);
  if (!cipher.ok()) return cipher.error();
  SessionFacts facts = SessionFacts::capture(ssl, client);
  if (!facts.session)
    return make_error(Errc::kDtlsInternal, "the handshake left no session");
  return std::unique_ptr<ReleasedSession>(new ReleasedSession(
      std::move(cipher).value(), std::move(facts), next_sequence,
      static_cast<std::uint16_t>(SSL_version(ssl))));
}

size_t ReleasedSession::seal(std::uint8_t content_type,
                             std::span<const std::uint8_t> plaintext,
                             std::span<std::uint8_t> out) {
  if (next_sequence_ >= kSequenceLimit) return 0;
  // Renegotiation is refused, so epoch 1 is the only protected one.
  const size_t n =
      cipher_.seal(content_type, version_, 1, next_sequence_, plaintext, out);
  if (n > 0) ++next_sequence_;
  return n;
}

ReleasedSession::Received ReleasedSession::read(
    const RecordHeader& header, std::span<const std::uint8_t> record,
    std::span<std::uint8_t> out, bool client) {
  using Kind = Received::Kind;
  auto is = [](Kind kind, int alert = 0, std::string_view why = {}) {
    Received r;
    r.kind = kind;
    r.alert = alert;
    r.why = why;
    return r;
  };
  auto plain = cipher_.open(header, record, out);
  // RFC 6347 §4.1.2.7: a record that does not authenticate is discarded
  // silently, as OpenSSL's record layer does.
  if (!plain) return {};
  switch (header.content_type) {
    case kContentApplicationData: {
      // OpenSSL delivers no empty records either.
      if (plain->empty()) return is(Kind::kIgnored);
      warnings_in_a_row_ = 0;
      Received r = is(Kind::kData);
      r.data = *plain;
      return r;
    }
    case kContentAlert: {
      // RFC 5246 §7.2: one alert is a level and a description, and what
      // OpenSSL 3.0 ends the session for, it does here too.
      if (plain->size() != 2) {
        return is(Kind::kMalformed, SSL_AD_DECODE_ERROR,
                  "the peer sent a malformed alert");
      }
      const int level = (*plain)[0], description = (*plain)[1];
      if (level == SSL3_AL_FATAL) return is(Kind::kFatalAlert, description);
      if (level != SSL3_AL_WARNING) {
        return is(Kind::kMalformed, SSL_AD_ILLEGAL_PARAMETER,
                  "the peer sent an alert of an unknown level");
      }
      if (description == SSL_AD_CLOSE_NOTIFY) return is(Kind::kCloseNotify);
      if (++warnings_in_a_row_ == kMaxWarningsInARow) {
        return is(Kind::kMalformed, SSL_AD_UNEXPECTED_MESSAGE,
                  "the peer sent too many warning alerts");
      }
      return is(Kind::kIgnored);
    }
    case kContentHandshake: {
      // A new handshake's first message (a server's HelloRequest, a
      // client's ClientHello) in its first fragment: RFC 6347 §4.2.2's
      // header is type, length (3), message_seq (2), fragment_offset (3),
      // fragment_length (3). The peer's repeated Finished comes only past
      // the last flight's hold (AssociationOptions::last_flight_hold), from
      // a peer that has waited minutes for ours: it is not a new handshake,
      // and is ignored.
      const std::uint8_t asks =
          client ? kHandshakeHelloRequest : kHandshakeClientHello;
      const bool first_fragment = plain->size() >= kHandshakeHeaderSize &&
                                  (*plain)[6] == 0 && (*plain)[7] == 0 &&
                                  (*plain)[8] == 0;
      if (first_fragment && (*plain)[0] == asks)
        return is(Kind::kRenegotiation);
      return is(Kind::kIgnored);
    }
    default:
      return is(Kind::kIgnored);
  }
}

void ReleasedSession::forget_session(SSL_CTX* ctx) const {
  if (ctx != nullptr) SSL_CTX_remove_session(ctx, facts_.session.get());
}

Result<std::vector<std::uint8_t>> ReleasedSession::export_keying_material(
    size_t length, std::string_view label,
    std::optional<std::span<const std::uint8_t>> context) const {
  // RFC 5705 §4: PRF(master_secret, label, client_random + server_random
  // [+ context_value_length + context_value]); the length is a uint16.
  std::vector<std::uint8_t> seed(label.begin(), label.end());
  seed.insert(seed.end(), facts_.randoms.begin(), facts_.randoms.end());
  if (context) {
    seed.push_back(static_cast<std::uint8_t>(context->size() >> 8));
    seed.push_back(static_cast<std::uint8_t>(context->size()));
    seed.insert(seed.end(), context->begin(), context->end());
  }
  // The PRF's own labels (RFC 5246 §7.4.9, §6.3, §8.1; RFC 7627 §4) cannot be
  // exported. Like OpenSSL, a seed that merely starts with one is refused
  // too, so that a label and the randoms cannot be made to spell one.
  static constexpr std::string_view kReserved[] = {
      TLS_MD_CLIENT_FINISH_CONST, TLS_MD_SERVER_FINISH_CONST,
      TLS_MD_MASTER_SECRET_CONST, TLS_MD_EXTENDED_MASTER_SECRET_CONST,
      TLS_MD_KEY_EXPANSION_CONST};
  for (std::string_view reserved : kReserved) {
    if (seed.size() >= reserved.size() &&
        std::memcmp(seed.data(), reserved.data(), reserved.size()) == 0) {
      return make_error(Errc::kDtlsExportFailed,
                        "keying material export failed: the label \"" +
                            std::string(label) + "\" is reserved");
    }
  }
  std::array<std::uint8_t, SSL_MAX_MASTER_KEY_LENGTH> master{};
  const size_t master_length = SSL_SESSION_get_master_key(
      facts_.session.get(), master.data(), master.size());
  if (master_length != SSL_MAX_MASTER_KEY_LENGTH) {
    return make_error(Errc::kDtlsExportFailed,
                      "keying material export failed: no master secret");
  }
  const SSL_CIPHER* suite = SSL_SESSION_get0_cipher(facts_.session.get());
  std::vector<std::uint8_t> out(length);
  Status st =
      tls12_prf(suite ? SSL_CIPHER_get_handshake_digest(suite) : nullptr,
                std::span(master).first(master_length), {seed}, out);
  OPENSSL_cleanse(master.data(), master.size());
  if (!st.ok()) {
    return make_error(
        Errc::kDtlsExportFailed,
        "keying material export failed: " + std::string(st.error().text()));
  }
  return out;
}

}  // namespace dtls
