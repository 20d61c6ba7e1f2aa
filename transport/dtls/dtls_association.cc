#include "transport/dtls/dtls_association.h"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <array>
#include <cctype>

#include "certs/server_identity.h"
#include "srtp/srtp_profile.h"
#include "transport/dtls/record_expansion.h"

namespace dtls {
namespace {

constexpr unsigned int kMaxRetransmitUs =
    60'000'000;  // RFC 6347 §4.2.4.1: at least 60 s cap

// RFC 4279 §5.3: a PSK identity, and so a hint, is at most 128 bytes.
constexpr size_t kMaxPskIdentity = 128;

Error out_of_range(std::string message) {
  return make_error("ERR_OUT_OF_RANGE", std::move(message));
}

// node's names for X509 verification results (its authorizationError / error
// codes).
std::string node_verify_code(int err) {
  switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
      return "UNABLE_TO_GET_ISSUER_CERT";
    case X509_V_ERR_UNABLE_TO_GET_CRL:
      return "UNABLE_TO_GET_CRL";
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
      return "UNABLE_TO_DECRYPT_CERT_SIGNATURE";
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY";
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "CERT_SIGNATURE_FAILURE";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "CERT_NOT_YET_VALID";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "CERT_HAS_EXPIRED";
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
      return "ERROR_IN_CERT_NOT_BEFORE_FIELD";
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
      return "ERROR_IN_CERT_NOT_AFTER_FIELD";
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
      return "DEPTH_ZERO_SELF_SIGNED_CERT";
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return "SELF_SIGNED_CERT_IN_CHAIN";
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
      return "UNABLE_TO_GET_ISSUER_CERT_LOCALLY";
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
      return "UNABLE_TO_VERIFY_LEAF_SIGNATURE";
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
      return "CERT_CHAIN_TOO_LONG";
    case X509_V_ERR_CERT_REVOKED:
      return "CERT_REVOKED";
    case X509_V_ERR_INVALID_CA:
      return "INVALID_CA";
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
      return "PATH_LENGTH_EXCEEDED";
    case X509_V_ERR_INVALID_PURPOSE:
      return "INVALID_PURPOSE";
    case X509_V_ERR_CERT_UNTRUSTED:
      return "CERT_UNTRUSTED";
    case X509_V_ERR_CERT_REJECTED:
      return "CERT_REJECTED";
    case X509_V_ERR_HOSTNAME_MISMATCH:
      return "HOSTNAME_MISMATCH";
    default:
      return "CERT_REJECTED";
  }
}

// "handshake failure" -> "HANDSHAKE_FAILURE".
std::string alert_code(int description) {
  std::string name = SSL_alert_desc_string_long(description);
  for (char& c : name)
    c = c == ' '
            ? '_'
            : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return name;
}

// The use_srtp identifier of a profile name (0 for none).
std::uint16_t srtp_profile_id(std::string_view name) {
  auto p = srtp::profile_from_name(name);
  return p ? srtp::profile_info(*p).id : 0;
}

// Scratch space for SSL_read: one per thread, since a core call never spans
// threads. Keeps a 16 KiB buffer out of every idle association.
std::array<std::uint8_t, 16384>& read_scratch() {
  thread_local std::array<std::uint8_t, 16384> buf;
  return buf;
}

}  // namespace

RetransmitConfig retransmit_config(const AssociationOptions& o,
                                   bool dtls_srtp) {
  const std::chrono::milliseconds initial =
      o.initial_retransmit_timeout > std::chrono::milliseconds::zero()
          ? o.initial_retransmit_timeout
          : default_initial_timeout(dtls_srtp, o.max_retransmit_timeout);
  // The adaptive floor is RetransmitConfig's default, or the initial value
  // when that is lower.
  return {.initial = initial,
          .max = o.max_retransmit_timeout,
          .adaptive = o.adaptive_retransmit,
          .floor = std::min(RetransmitConfig{}.floor, initial)};
}

Status validate_association_options(const AssociationOptions& o) {
  if (o.mtu < 256 || o.mtu > 65535) {
    return out_of_range("mtu must be 256..65535, got " + std::to_string(o.mtu));
  }
  if (o.initial_retransmit_timeout < std::chrono::milliseconds::zero()) {
    return out_of_range(
        "retransmit_initial must be 0 (the default) or "
        "20 ms..60 s");
  }
  // The default initial timeout is capped at the maximum, so either
  // resolution checks the same ranges.
  if (Status s = validate_retransmit_config(retransmit_config(o, false));
      !s.ok())
    return s;
  if (o.handshake_timeout < std::chrono::milliseconds(1) ||
      o.handshake_timeout > std::chrono::hours(1)) {
    return out_of_range("handshake_timeout must be 1 ms..1 h");
  }
  if (o.idle_timeout < std::chrono::milliseconds(0) ||
      o.idle_timeout > std::chrono::hours(24)) {
    return out_of_range("idle_timeout must be 0 (none) or 1 ms..24 h");
  }
  if (o.media_idle_timeout < std::chrono::milliseconds(0) ||
      o.media_idle_timeout > std::chrono::hours(24)) {
    return out_of_range("media_idle_timeout must be 0 (none) or 1 ms..24 h");
  }
  if (o.last_flight_hold < std::chrono::milliseconds(0) ||
      o.last_flight_hold > std::chrono::hours(24)) {
    return out_of_range("last_flight_hold must be 0 (no limit) or 1 ms..24 h");
  }
  if (o.initial_rtt < std::chrono::milliseconds(0) ||
      o.initial_rtt > AssociationOptions::kMaxKnownRtt) {
    return out_of_range("initial_rtt must be 0 (unknown) or 1 ms..60 s");
  }
  if (o.remembered_rtt < std::chrono::milliseconds(0) ||
      o.remembered_rtt > AssociationOptions::kMaxKnownRtt) {
    return out_of_range("remembered_rtt must be 0 (none) or 1 ms..60 s");
  }
  if (o.psk_identity_hint.size() > kMaxPskIdentity) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "psk_identity_hint is over " +
                          std::to_string(kMaxPskIdentity) + " bytes");
  }
  return {};
}

namespace {

Status validate(const DtlsContext& context, const AssociationOptions& o,
                Role role) {
  if (Status s = validate_association_options(o); !s.ok()) return s;
  if (role == Role::kServer && !context.has_certificate() && !o.psk_server) {
    return make_error("ERR_INVALID_ARG_VALUE",
                      "a server needs a certificate and key (or PSK)");
  }
  return {};
}

}  // namespace

DtlsAssociation::DtlsAssociation(std::shared_ptr<const DtlsContext> context,
                                 AssociationOptions options, Role role,
                                 TimePoint now)
    : context_(std::move(context)),
      options_(std::move(options)),
      role_(role),
      timer_(retransmit_config(options_, context_->offers_srtp())) {
  stats_.created_at = now;
  now_ = now;
  if (options_.initial_rtt > Duration::zero()) {
    timer_.add_sample(options_.initial_rtt);
    stats_.smoothed_rtt = timer_.smoothed_rtt();
  } else if (options_.remembered_rtt > Duration::zero()) {
    timer_.remember(options_.remembered_rtt);
    stats_.remembered_rtt = options_.remembered_rtt;
  }
  handshake_deadline_ = now + options_.handshake_timeout;
  last_activity_ = now;
  idle_timeout_ = options_.idle_timeout;
}

DtlsAssociation::~DtlsAssociation() {
  // OpenSSL may call back while freeing (it does not today, but the sink must
  // not dangle).
  if (ssl_) SSL_set_app_data(ssl_.get(), nullptr);
  // Ended without close_notify: OpenSSL's SSL_free would have made the
  // session not resumable.
  if (released_ && state_ == State::kOpen)
    released_->forget_session(context_->get());
}

Status DtlsAssociation::init() {
  ssl_.reset(SSL_new(context_->get()));
  BIO* bio = ssl_ ? new_datagram_bio(&queue_) : nullptr;
  if (bio == nullptr) {
    return make_error("ERR_DTLS_INTERNAL",
                      "SSL_new/BIO_new failed: " + drain_openssl_errors());
  }
  SSL* ssl = ssl_.get();
  SSL_set_app_data(ssl, static_cast<SslEventSink*>(this));
  SSL_set_bio(ssl, bio, bio);
  SSL_set_mtu(ssl, options_.mtu);
  // A record never carries more than one datagram's worth (messages are
  // limited to DTLS_get_data_mtu), so the write buffer OpenSSL sizes from the
  // maximum fragment shrinks from 16 KiB + overhead to about the MTU: about
  // 15 KiB less per session (OpenSSL keeps DTLS buffers for the session's
  // life; SSL_MODE_RELEASE_BUFFERS does not apply to DTLS).
  max_send_fragment_ = std::clamp<std::uint32_t>(options_.mtu, 512, 16384);
  SSL_set_max_send_fragment(ssl, static_cast<long>(max_send_fragment_));
  DTLS_set_timer_cb(ssl, timer_cb);
  // Pinned (WebRTC) sessions neither ask for nor issue session tickets:
  // browsers never resume, and a ticket adds a message to the server's final
  // flight (one more datagram to lose).
  if (!options_.peer_fingerprints.empty())
    SSL_set_options(ssl, SSL_OP_NO_TICKET);
  if (role_ == Role::kClient) {
    SSL_set_connect_state(ssl);
    SSL_set_verify(ssl, SSL_VERIFY_PEER, nullptr);
    auto alpn = context_->alpn_wire();
    if (!alpn.empty())
      SSL_set_alpn_protos(ssl, alpn.data(), static_cast<unsigned>(alpn.size()));
    if (options_.session && SSL_set_session(ssl, options_.session.get()) != 1) {
      return make_error(
          "ERR_INVALID_ARG_VALUE",
          "session: OpenSSL refused it: " + drain_openssl_errors());
    }
    if (options_.psk_client) SSL_set_psk_client_callback(ssl, psk_client_cb);
    // SNI carries names only, never addresses (RFC 6066 §3).
    const std::string& host = options_.servername;
    if (!host.empty() &&
        host.find_first_not_of("0123456789.") != std::string::npos &&
        host.find(':') == std::string::npos) {
      SSL_set_tlsext_host_name(ssl, host.c_str());
    }
  } else {
    SSL_set_accept_state(ssl);
    int mode = SSL_VERIFY_NONE;
    if (!options_.peer_fingerprints.empty()) {
      mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    } else if (options_.request_cert) {
      mode =
          SSL_VERIFY_PEER |
          (options_.reject_unauthorized ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    }
    SSL_set_verify(ssl, mode, nullptr);
    if (options_.psk_server) {
      SSL_set_psk_server_callback(ssl, psk_server_cb);
      if (!options_.psk_identity_hint.empty())
        SSL_use_psk_identity_hint(ssl, options_.psk_identity_hint.c_str());
    }
  }
  return {};
}

Result<std::unique_ptr<DtlsAssociation>> DtlsAssociation::connect(
    std::shared_ptr<const DtlsContext> context, AssociationOptions options,
    TimePoint now) {
  if (!context) return make_error("ERR_INVALID_ARG_VALUE", "no DTLS context");
  if (Status s = validate(*context, options, Role::kClient); !s.ok())
    return s.error();
  std::unique_ptr<DtlsAssociation> a(new DtlsAssociation(
      std::move(context), std::move(options), Role::kClient, now));
  if (Status s = a->init(); !s.ok()) return s.error();
  a->pump(now);
  return a;
}

Result<std::unique_ptr<DtlsAssociation>> DtlsAssociation::accept(
    std::shared_ptr<const DtlsContext> context, AssociationOptions options,
    std::span<const std::uint8_t> client_hello,
    std::span<const std::uint8_t> cookie, TimePoint now,
    std::optional<Duration> cookie_age) {
  if (!context) return make_error("ERR_INVALID_ARG_VALUE", "no DTLS context");
  if (Status s = validate(*context, options, Role::kServer); !s.ok())
    return s.error();
  std::unique_ptr<DtlsAssociation> a(new DtlsAssociation(
      std::move(context), std::move(options), Role::kServer, now));
  if (Status s = a->init(); !s.ok()) return s.error();
  // The HelloVerifyRequest was this server's first flight and the ClientHello
  // its answer (RFC 9147 §5.8: base the timer on the measured round trip).
  if (cookie_age) {
    a->timer_.add_sample(*cookie_age);
    a->stats_.smoothed_rtt = a->timer_.smoothed_rtt();
  }
  a->verified_cookie_.assign(cookie.begin(), cookie.end());
  a->stats_.datagrams_received++;
  // DTLSv1_listen re-reads the ClientHello, checks the cookie through
  // on_verify_cookie, sets the handshake sequence numbers as after a
  // HelloVerifyRequest (message_seq 1), and keeps the record for the handshake.
  // It needs only the first fragment: the rest is reassembled later.
  a->queue_.set_input(client_hello);
  BIO_ADDR* addr = BIO_ADDR_new();
  int r = DTLSv1_listen(a->ssl_.get(), addr);
  BIO_ADDR_free(addr);
  a->queue_.clear_input();
  if (r != 1) {
    return make_error(
        "ERR_DTLS_HANDSHAKE_FAILED",
        "the ClientHello was not accepted: " + drain_openssl_errors());
  }
  a->pump(now);
  a->release_buffers();
  return a;
}

DtlsAssociation* DtlsAssociation::from_ssl(const SSL* ssl) {
  return static_cast<DtlsAssociation*>(
      static_cast<SslEventSink*>(SSL_get_app_data(ssl)));
}

unsigned int DtlsAssociation::timer_cb(SSL* ssl, unsigned int previous_us) {
  auto* self = from_ssl(ssl);
  if (self == nullptr) return 1'000'000;
  using std::chrono::microseconds;
  Duration next;
  if (previous_us == 0) {
    // A new flight's timer: dtls1_start_timer asks as the flight's first
    // message goes out, after the peer's answer stopped the last one.
    self->timer_.flight_sent(self->now_);
    // The steps that follow in this call are our own writes, not answers.
    self->reading_peer_ = false;
    next = self->timer_.first_timeout();
  } else {
    // OpenSSL asks for the next duration right before it retransmits a flight
    // on timeout (dtls1_handle_timeout).
    self->stats_.retransmit_count++;
    self->timer_.flight_retransmitted();
    next = self->timer_.next_timeout(microseconds(previous_us));
  }
  self->timer_.note_timeout(next);
  return static_cast<unsigned int>(std::clamp<long long>(
      std::chrono::duration_cast<microseconds>(next).count(), 1,
      kMaxRetransmitUs));
}

// Once the handshake is over, OpenSSL would keep a read buffer of ~18 KiB
// (SSL3_RT_MAX_PLAIN_LENGTH plus overhead, whatever the MTU) and a write buffer
// for the session's life: SSL_MODE_RELEASE_BUFFERS does not apply to DTLS. A
// media session sees a DTLS record rarely after its handshake (media is SRTP),
// so an open association holds them only for the duration of a call into
// OpenSSL: allocated on the way in, freed on the way out.
class DtlsAssociation::BufferScope {
 public:
  explicit BufferScope(DtlsAssociation& a) : a_(a), ok_(a.take_buffers()) {}
  ~BufferScope() { a_.release_buffers(); }
  BufferScope(const BufferScope&) = delete;
  BufferScope& operator=(const BufferScope&) = delete;
  bool ok() const { return ok_; }

 private:
  DtlsAssociation& a_;
  bool ok_;
};

bool DtlsAssociation::take_buffers() {
  if (!buffers_released_ || !ssl_) return true;
  // The write path (do_dtls1_write) does not allocate its buffer lazily, so no
  // OpenSSL call may be made without it. A buffer OpenSSL 3.0 cannot allocate
  // fails its SSL for good (ssl3_setup_read_buffer/_write_buffer: SSLfatal),
  // so the association cannot go on either.
  if (SSL_alloc_buffers(ssl_.get()) != 1) {
    fail(make_error("ERR_OUT_OF_MEMORY",
                    "cannot allocate the DTLS record buffers"));
    return false;
  }
  buffers_released_ = false;
  return true;
}

void DtlsAssociation::release_buffers() {
  // Open sessions, and servers waiting for the client's second flight: a
  // half-open handshake (maybe a peer that went silent after the cookie)
  // holds no record buffers while it waits.
  const bool waiting =
      state_ == State::kHandshaking && role_ == Role::kServer && !progressed_;
  if ((state_ != State::kOpen && !waiting) || buffers_released_ || !ssl_)
    return;
  // Refused (0) while a record is half read or written; kept then.
  if (SSL_free_buffers(ssl_.get()) == 1) buffers_released_ = true;
}

void DtlsAssociation::handle_datagram(std::span<const std::uint8_t> datagram,
                                      TimePoint now) {
  if (state_ == State::kClosed || state_ == State::kFailed) return;
  stats_.datagrams_received++;
  // A zero-length UDP datagram is legal and holds no record, but a BIO read of
  // 0 bytes is EOF to OpenSSL, which would end the association: anyone able to
  // spoof the peer's address could. It never reaches OpenSSL.
  if (datagram.empty()) return;
  if (released_) {
    guard_.filter(
        datagram, [this] { return read_state(); },
        [&](const RecordGuard::Record& r) { handle_released_record(r, now); });
    return;
  }
  {
    BufferScope buffers(*this);
    if (!buffers.ok()) return;
    // OpenSSL gets the records that pass one at a time, each as its own
    // datagram (records never span datagrams, RFC 6347 §4.1.1), so that what a
    // record did (data or an alert delivered: it authenticated) is known.
    guard_.filter(
        datagram, [this] { return read_state(); },
        [&](const RecordGuard::Record& r) {
          if (state_ != State::kHandshaking && state_ != State::kOpen) return;
          const bool open = state_ == State::kOpen;
          const std::uint64_t messages_before = stats_.messages_received;
          const std::uint64_t before = messages_before + alerts_received_;
          const std::uint64_t steps = handshake_steps_;
          const std::uint64_t written = queue_.datagrams_written();
          queue_.set_input(r.bytes);
          reading_peer_ = true;
          // A repeated flight of the peer's makes OpenSSL resend ours.
          DatagramQueue::Burst burst(queue_, options_.mtu);
          pump(now);
          reading_peer_ = false;
          queue_.clear_input();
          const bool authenticated =
              stats_.messages_received + alerts_received_ != before;
          const bool wrote = queue_.datagrams_written() != written;
          if (open) {
            if (authenticated) guard_.authenticated(r.header.sequence);
            // Application data is sent only once the peer's handshake is
            // over, so the peer has our last flight. A warning alert may
            // come before (and a fatal one or close_notify ends the session
            // anyway), so alerts show nothing.
            if (stats_.messages_received != messages_before)
              peer_has_our_flight_ = true;
            // Only what OpenSSL authenticated (data, an alert, a repeated
            // Finished it answered) keeps an open session alive: a forged
            // record that passes the guard must not hold off idle_timeout.
            if (authenticated || wrote) last_activity_ = now;
            // OpenSSL resent our last flight for the peer's repeated one: the
            // peer is still waiting for it, and may repeat it again, so the
            // hold counts from now.
            if (wrote && hold_deadline_) {
              hold_deadline_ =
                  std::max(*hold_deadline_, now + options_.last_flight_hold);
            }
          } else {
            last_activity_ = now;
            note_flights(handshake_steps_ != steps, wrote);
          }
        });
  }
  maybe_release(now);
}

void DtlsAssociation::handle_released_record(const RecordGuard::Record& r,
                                             TimePoint now) {
  if (state_ != State::kOpen) return;
  using Kind = ReleasedSession::Received::Kind;
  const auto got = released_->read(r.header, r.bytes, read_scratch(),
                                   role_ == Role::kClient);
  if (got.kind == Kind::kDropped) return;
  guard_.authenticated(r.header.sequence);
  last_activity_ = now;
  switch (got.kind) {
    case Kind::kData:
      stats_.messages_received++;
      stats_.bytes_received += got.data.size();
      push_event(DtlsEvent::Type::kData,
                 std::vector<std::uint8_t>(got.data.begin(), got.data.end()));
      return;
    case Kind::kCloseNotify:
      // RFC 5246 §7.2.1: answer close_notify with close_notify.
      write_alert(SSL3_AL_WARNING, SSL_AD_CLOSE_NOTIFY);
      state_ = State::kClosed;
      push_event(DtlsEvent::Type::kClosed);
      return;
    case Kind::kFatalAlert:
      received_alert_ = got.alert;
      fail(alert_error(got.alert));
      return;
    case Kind::kRenegotiation:
      // Refused with a no_renegotiation warning (RFC 5246 §7.2.2), as
      // OpenSSL answers it.
      write_alert(SSL3_AL_WARNING, SSL_AD_NO_RENEGOTIATION);
      return;
    case Kind::kMalformed:
      write_alert(SSL3_AL_FATAL, got.alert);
      fail(make_error(Errc::kDtlsHandshakeFailed, std::string(got.why)));
      return;
    case Kind::kDropped:
    case Kind::kIgnored:
      return;
  }
}

void DtlsAssociation::write_alert(int level, int description) {
  const std::uint8_t alert[2] = {static_cast<std::uint8_t>(level),
                                 static_cast<std::uint8_t>(description)};
  write_released(kContentAlert, alert);
}

bool DtlsAssociation::write_released(std::uint8_t content_type,
                                     std::span<const std::uint8_t> plaintext) {
  std::array<std::uint8_t, kRecordHeaderSize + kMaxPlaintextLength + 64> out;
  const size_t n = released_->seal(content_type, plaintext, out);
  if (n == 0) return false;
  queue_.push(std::span(out).first(n));
  stats_.datagrams_sent = queue_.datagrams_written();
  return true;
}

bool DtlsAssociation::first_media(TimePoint now) {
  media_seen_ = true;
  const std::optional<TimePoint> before = next_deadline();
  // Authenticated SRTP: the peer's keys came from a finished handshake, so
  // it has our last flight.
  peer_has_our_flight_ = true;
  maybe_release(now);
  if (idle_timeout_.count() == 0 && options_.media_idle_timeout.count() != 0)
    idle_timeout_ = options_.media_idle_timeout;
  return next_deadline() != before;
}

void DtlsAssociation::maybe_release(TimePoint now) {
  if (released_ || release_refused_ || !ssl_ || state_ != State::kOpen ||
      !options_.release_after_handshake) {
    return;
  }
  // RFC 6347 §4.2.4: the side that sent the last flight answers the peer's
  // repeated last flight (its Finished did not come back to it) with its own
  // again, which needs OpenSSL, "for at least twice the default MSL". The
  // other side has nothing to answer.
  const bool reused = SSL_session_reused(ssl_.get()) == 1;
  const bool sent_last_flight = (role_ == Role::kServer) != reused;
  if (sent_last_flight && !peer_has_our_flight_ && !hold_over_) {
    if (!hold_deadline_ && options_.last_flight_hold.count() != 0) {
      hold_deadline_ = stats_.handshake_completed_at.value_or(now) +
                       options_.last_flight_hold;
    }
    return;
  }
  // OpenSSL has a timer running only mid-flight: not after a handshake. Nor
  // does it hold records read but not delivered (the SSL_read loop drains
  // them), but if it did they would be lost with it.
  if (retransmit_deadline_ || SSL_has_pending(ssl_.get())) return;
  const auto last = queue_.last_protected_sequence();
  auto released = ReleasedSession::capture(ssl_.get(), role_ == Role::kClient,
                                           last ? *last + 1 : 0);
  if (!released.ok()) {
    // Not an AEAD suite (or out of memory): OpenSSL keeps the association,
    // which works as before.
    release_refused_ = true;
    hold_deadline_.reset();
    drain_openssl_errors();
    return;
  }
  released_ = std::move(released).value();
  hold_deadline_.reset();
  stats_.released_at = now;
  if (release_total_ != nullptr) ++*release_total_;
  SSL_set_app_data(ssl_.get(), nullptr);
  // SSL_free marks the session of an SSL that has not sent close_notify not
  // resumable (ssl_clear_bad_session), and that is the session kept here
  // (for a resuming client, the caller's AssociationOptions::session). This
  // one goes on: OpenSSL is told no more than that nothing is left to send.
  // What ends it badly later forgets the session then (fail(), and the
  // destructor of one still open), as OpenSSL would have.
  SSL_set_shutdown(ssl_.get(), SSL_SENT_SHUTDOWN);
  ssl_.reset();
  sni_context_.reset();
  buffers_released_ = true;
}

void DtlsAssociation::note_flights(bool stepped, bool wrote) {
  // A record that moved nothing but made us write: OpenSSL resent our flight
  // for a repeated one of the peer's (its Finished).
  if (!stepped && wrote) timer_.flight_retransmitted();
}

void DtlsAssociation::on_handshake_step() {
  handshake_steps_++;
  // A step while a peer's record is read is a whole message of its answer
  // (dtls_get_message gave one): the first one ends our flight's round trip.
  // It has to be noted here, before OpenSSL starts our next flight's timer in
  // the same call (timer_cb), so that flight already uses the sample: the
  // ClientHello with the cookie uses the cookie exchange's round trip.
  if (reading_peer_) {
    timer_.flight_answered(now_);
    // A remembered round trip is not this path's: shown once one is
    // measured (an answer to a flight sent twice measures nothing).
    if (timer_.measured() > 0) stats_.smoothed_rtt = timer_.smoothed_rtt();
  }
}

RecordGuard::ReadState DtlsAssociation::read_state() const {
  RecordGuard::ReadState s;
  s.open = state_ == State::kOpen;
  if (released_) {
    s.version = released_->version();
    s.min_protected_length = min_protected_length_;
    s.epoch = 1;
    s.max_handshake_message = kHandshakeHeaderSize + (size_t{1} << 14) + 2048;
    return s;
  }
  if (s.open) {
    s.version = static_cast<std::uint16_t>(SSL_version(ssl_.get()));
    s.min_protected_length = min_protected_length_;
    s.epoch = 1;
  } else {
    s.min_protected_length = min_protected_record_length(ssl_.get());
    // OpenSSL moves its read epoch to 1 when it processes the peer's
    // ChangeCipherSpec (tls_process_change_cipher_spec), and the handshake
    // waits in these states until the peer's Finished.
    switch (SSL_get_state(ssl_.get())) {
      case TLS_ST_CR_CHANGE:
      case TLS_ST_CR_FINISHED:
      case TLS_ST_SR_CHANGE:
      case TLS_ST_SR_FINISHED:
        s.epoch = 1;
        break;
      default:
        s.epoch = 0;
    }
  }
  // OpenSSL's own limit for a handshake message (dtls1_preprocess_fragment).
  s.max_handshake_message =
      std::max<size_t>(kHandshakeHeaderSize + (size_t{1} << 14) + 2048,
                       SSL_get_max_cert_list(ssl_.get()));
  return s;
}

void DtlsAssociation::handle_timeout(TimePoint now) {
  if (state_ == State::kHandshaking && now >= handshake_deadline_) {
    fail(make_error("ERR_DTLS_HANDSHAKE_TIMEOUT",
                    "the handshake did not complete within " +
                        std::to_string(options_.handshake_timeout.count()) +
                        " ms"));
    return;
  }
  if (state_ != State::kHandshaking && state_ != State::kOpen) return;
  if (state_ == State::kOpen && tracks_activity() &&
      now >= last_activity_ + idle_timeout_) {
    fail(make_error("ERR_DTLS_IDLE_TIMEOUT",
                    "nothing received from the peer for " +
                        std::to_string(idle_timeout_.count()) + " ms"));
    return;
  }
  if (state_ == State::kOpen && hold_deadline_ && now >= *hold_deadline_) {
    // The peer had its chance to repeat its last flight: held long enough.
    hold_deadline_.reset();
    hold_over_ = true;
    maybe_release(now);
    if (state_ != State::kOpen) return;
  }
  // Only a due retransmission needs OpenSSL, and so its record buffers: an
  // open session whose idle deadline came up allocates nothing, and so is
  // not failed by a moment out of memory.
  if (!retransmit_deadline_ || now < *retransmit_deadline_) return;
  BufferScope buffers(*this);
  if (!buffers.ok()) return;
  now_ = now;
  int r;
  {
    DatagramQueue::Burst burst(queue_, options_.mtu);
    r = DTLSv1_handle_timeout(ssl_.get());
  }
  if (r < 0) {
    fail(handshake_error());
    return;
  }
  update_timer(now);
  stats_.datagrams_sent = queue_.datagrams_written();
  // A hold that ended while OpenSSL still had a timer running lets go now
  // that it may have none.
  if (hold_over_) maybe_release(now);
}

std::optional<TimePoint> DtlsAssociation::next_deadline() const {
  if (state_ == State::kHandshaking) {
    return retransmit_deadline_
               ? std::min(*retransmit_deadline_, handshake_deadline_)
               : handshake_deadline_;
  }
  if (state_ == State::kOpen) {
    std::optional<TimePoint> next = retransmit_deadline_;
    auto sooner = [&next](TimePoint t) {
      if (!next || t < *next) next = t;
    };
    if (tracks_activity()) sooner(last_activity_ + idle_timeout_);
    if (hold_deadline_) sooner(*hold_deadline_);
    return next;
  }
  return std::nullopt;
}

void DtlsAssociation::update_timer(TimePoint now) {
  timeval tv{};
  if (ssl_ && (state_ == State::kHandshaking || state_ == State::kOpen) &&
      DTLSv1_get_timeout(ssl_.get(), &tv) == 1) {
    retransmit_deadline_ = now + std::chrono::seconds(tv.tv_sec) +
                           std::chrono::microseconds(tv.tv_usec);
  } else {
    retransmit_deadline_.reset();
  }
}

void DtlsAssociation::pump(TimePoint now) {
  now_ = now;
  if (state_ == State::kHandshaking) {
    int r = SSL_do_handshake(ssl_.get());
    if (r == 1) {
      state_ = State::kOpen;
      stats_.handshake_completed_at = now;
      const SSL_CIPHER* c = SSL_get_current_cipher(ssl_.get());
      if (SSL_session_reused(ssl_.get())) {
        if (Status st = check_resumed_session(); !st.ok()) {
          fail(st.error());
          return;
        }
      } else if (c && SSL_CIPHER_get_auth_nid(c) == NID_auth_psk) {
        // RFC 4279: knowing the key is the peer's authentication.
        authorized_ = true;
      }
      if (context_->options().require_srtp && srtp_profile().empty()) {
        fail(make_error("ERR_DTLS_SRTP_NO_COMMON_PROFILE",
                        "the peer agreed to none of our SRTP profiles"));
        return;
      }
      // The flights are over: later writes (close_notify, a retransmitted
      // final flight, application data) are rare, not worth spare buffers.
      queue_.stop_recycling();
      std::vector<std::uint8_t>().swap(verified_cookie_);
      min_protected_length_ =
          min_protected_record_length(SSL_get_current_cipher(ssl_.get()));
      push_event(DtlsEvent::Type::kHandshakeComplete);
    } else {
      int e = SSL_get_error(ssl_.get(), r);
      if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
        fail(handshake_error());
        return;
      }
      // States OpenSSL reaches only by reading the client's second flight
      // (full handshake: Certificate, ClientKeyExchange, CertificateVerify,
      // ChangeCipherSpec; resumed: ChangeCipherSpec, Finished).
      switch (SSL_get_state(ssl_.get())) {
        case TLS_ST_SR_CERT:
        case TLS_ST_SR_KEY_EXCH:
        case TLS_ST_SR_CERT_VRFY:
        case TLS_ST_SR_CHANGE:
        case TLS_ST_SR_FINISHED:
          progressed_ = true;
          break;
        default:
          break;
      }
    }
  }
  if (state_ != State::kHandshaking) progressed_ = true;
  if (state_ == State::kOpen) read_application_data();
  update_timer(now);
  stats_.datagrams_sent = queue_.datagrams_written();
}

void DtlsAssociation::read_application_data() {
  auto& buf = read_scratch();
  while (state_ == State::kOpen) {
    int n = SSL_read(ssl_.get(), buf.data(), static_cast<int>(buf.size()));
    if (n > 0) {
      stats_.messages_received++;
      stats_.bytes_received += static_cast<std::uint64_t>(n);
      push_event(DtlsEvent::Type::kData,
                 std::vector<std::uint8_t>(buf.begin(), buf.begin() + n));
      continue;
    }
    int e = SSL_get_error(ssl_.get(), n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return;
    if (e == SSL_ERROR_ZERO_RETURN) {
      // RFC 5246 §7.2.1: answer close_notify with close_notify.
      SSL_shutdown(ssl_.get());
      drain_openssl_errors();
      state_ = State::kClosed;
      retransmit_deadline_.reset();
      push_event(DtlsEvent::Type::kClosed);
      return;
    }
    fail(handshake_error());
    return;
  }
}

Result<size_t> DtlsAssociation::send(std::span<const std::uint8_t> message) {
  if (state_ != State::kOpen) {
    return make_error("ERR_DTLS_SESSION_NOT_OPEN",
                      state_ == State::kHandshaking
                          ? "the handshake has not completed"
                          : "the session is closed");
  }
  if (message.empty())
    return make_error("ERR_INVALID_ARG_VALUE", "empty message");
  if (message.size() > max_message_size()) {
    return make_error("ERR_DTLS_MESSAGE_TOO_LARGE",
                      std::to_string(message.size()) +
                          " bytes do not fit one datagram (at most " +
                          std::to_string(max_message_size()) + " at MTU " +
                          std::to_string(options_.mtu) + ")");
  }
  if (released_) {
    if (!write_released(kContentApplicationData, message)) {
      return make_error("ERR_DTLS_SEND_FAILED",
                        "the record's sequence numbers have run out");
    }
    stats_.messages_sent++;
    stats_.bytes_sent += message.size();
    return message.size();
  }
  BufferScope buffers(*this);
  if (!buffers.ok()) {
    return make_error("ERR_OUT_OF_MEMORY",
                      "cannot allocate the DTLS record buffers");
  }
  int r =
      SSL_write(ssl_.get(), message.data(), static_cast<int>(message.size()));
  stats_.datagrams_sent = queue_.datagrams_written();
  if (r <= 0) {
    return make_error("ERR_DTLS_SEND_FAILED",
                      "SSL_write failed: " + drain_openssl_errors());
  }
  stats_.messages_sent++;
  stats_.bytes_sent += static_cast<std::uint64_t>(r);
  return static_cast<size_t>(r);
}

void DtlsAssociation::close() {
  if (state_ == State::kOpen && released_) {
    write_alert(SSL3_AL_WARNING, SSL_AD_CLOSE_NOTIFY);
  } else if (state_ == State::kOpen && take_buffers()) {
    SSL_shutdown(ssl_.get());  // writes close_notify
    drain_openssl_errors();
    stats_.datagrams_sent = queue_.datagrams_written();
  }
  if (state_ == State::kOpen || state_ == State::kHandshaking) {
    // A handshake in progress is abandoned silently: OpenSSL cannot send
    // close_notify before keys exist, and the peer's own timeout ends its side.
    state_ = State::kClosed;
    retransmit_deadline_.reset();
    push_event(DtlsEvent::Type::kClosed);
  }
}

bool DtlsAssociation::pop_event(DtlsEvent& out) {
  if (event_head_ == events_.size()) return false;
  out = std::move(events_[event_head_++]);
  if (event_head_ == events_.size()) {
    event_head_ = 0;
    // Past the handshake, events are rare: no capacity kept between them.
    if (state_ == State::kHandshaking) {
      events_.clear();
    } else {
      std::vector<DtlsEvent>().swap(events_);
    }
  }
  return true;
}

void DtlsAssociation::push_event(DtlsEvent::Type type,
                                 std::vector<std::uint8_t> data, Error error) {
  events_.push_back(DtlsEvent{type, std::move(data), std::move(error)});
}

void DtlsAssociation::fail(Error error) {
  drain_openssl_errors();
  // A fatal alert, sent or received: OpenSSL makes the session not
  // resumable (SSL_CTX_remove_session), and so does a released one.
  if (released_) released_->forget_session(context_->get());
  state_ = State::kFailed;
  retransmit_deadline_.reset();
  stats_.datagrams_sent = queue_.datagrams_written();
  push_event(DtlsEvent::Type::kError, {}, std::move(error));
}

Error DtlsAssociation::handshake_error() {
  unsigned long e = ERR_peek_last_error();
  std::string detail = drain_openssl_errors();
  if (pending_error_) return *pending_error_;
  if (received_alert_) return alert_error(*received_alert_);
  if (ERR_GET_LIB(e) == ERR_LIB_SSL) {
    switch (ERR_GET_REASON(e)) {
      case SSL_R_READ_TIMEOUT_EXPIRED:
        return make_error("ERR_DTLS_HANDSHAKE_TIMEOUT",
                          "too many retransmissions: " + detail);
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_VERSION_TOO_LOW:
      case SSL_R_VERSION_TOO_HIGH:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
        return make_error("ERR_DTLS_PROTOCOL_VERSION",
                          "no common DTLS version: " + detail);
      case SSL_R_NO_SHARED_CIPHER:
        return make_error("ERR_DTLS_NO_SHARED_CIPHER",
                          "no cipher suite in common: " + detail);
      case SSL_R_NO_APPLICATION_PROTOCOL:
        return make_error("ERR_DTLS_ALPN_NO_OVERLAP",
                          "no ALPN protocol in common: " + detail);
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return make_error("ERR_DTLS_PEER_CERTIFICATE_REQUIRED",
                          "the peer sent no certificate: " + detail);
      default:
        break;
    }
  }
  return make_error("ERR_DTLS_HANDSHAKE_FAILED",
                    detail.empty() ? "handshake failed" : detail);
}

Error DtlsAssociation::alert_error(int description) const {
  return make_error("ERR_DTLS_ALERT_" + alert_code(description),
                    std::string("the peer sent a fatal alert: ") +
                        SSL_alert_desc_string_long(description));
}

void DtlsAssociation::on_keylog_line(const char* line) {
  if (!options_.keylog) return;
  std::string_view l(line);
  push_event(DtlsEvent::Type::kKeylog,
             std::vector<std::uint8_t>(l.begin(), l.end()));
}

void DtlsAssociation::on_alert(bool sent, int level, int description) {
  if (sent) return;
  alerts_received_++;
  if (level == SSL3_AL_FATAL) received_alert_ = description;
}

int DtlsAssociation::on_verify_certificate(X509_STORE_CTX* store) {
  X509* leaf = X509_STORE_CTX_get0_cert(store);
  if (leaf == nullptr) {
    pending_error_ =
        make_error("ERR_DTLS_PEER_CERTIFICATE_REQUIRED", "no peer certificate");
    return 0;
  }
  X509_up_ref(leaf);
  certs::Certificate cert{ossl::X509Ptr(leaf)};
  int verify_result = X509_V_OK;
  if (!options_.peer_fingerprints.empty()) {
    // RFC 8122 §5 / RFC 8827: the certificate must match a fingerprint from
    // signalling; the chain is not otherwise validated (WebRTC certificates are
    // self-signed).
    if (!matches_pins(cert)) {
      pending_error_ = make_error(
          "ERR_DTLS_CERT_FINGERPRINT_MISMATCH",
          "the peer certificate (" +
              certs::Fingerprint::of(cert, certs::HashAlgorithm::kSha256)
                  .to_sdp() +
              ") matches no pinned fingerprint");
      X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
      return 0;
    }
    authorized_ = true;
  } else {
    if (X509_verify_cert(store) == 1) {
      authorized_ = true;
    } else {
      int err = X509_STORE_CTX_get_error(store);
      authorized_ = false;
      authorization_error_ = node_verify_code(err);
      verify_result = err;
      if (options_.reject_unauthorized) {
        pending_error_ = make_error(authorization_error_,
                                    X509_verify_cert_error_string(err));
        return 0;
      }
      drain_openssl_errors();
    }
    // node calls checkServerIdentity only for a chain that passed all other
    // checks, so authorization_error names the first failure.
    if (authorized_) {
      if (Status s = check_host(cert); !s.ok()) {
        verify_result = X509_V_ERR_HOSTNAME_MISMATCH;
        if (options_.reject_unauthorized) {
          pending_error_ = s.error();
          X509_STORE_CTX_set_error(store, X509_V_ERR_HOSTNAME_MISMATCH);
          return 0;
        }
      }
    }
  }
  // The ServerHello (with use_srtp) has been read when the server's Certificate
  // arrives, so a client that requires SRTP can refuse here, inside the
  // handshake, with an alert.
  if (role_ == Role::kClient && context_->options().require_srtp &&
      SSL_get_selected_srtp_profile(ssl_.get()) == nullptr) {
    pending_error_ =
        make_error("ERR_DTLS_SRTP_NO_COMMON_PROFILE",
                   "the server agreed to none of our SRTP profiles");
    X509_STORE_CTX_set_error(store, X509_V_ERR_APPLICATION_VERIFICATION);
    return 0;
  }
  // The session remembers the outcome (SSL_get_verify_result), so that a
  // resumption of it is judged the same way (check_resumed_session).
  X509_STORE_CTX_set_error(store, verify_result);
  return 1;
}

int DtlsAssociation::on_client_hello(int* alert) {
  if (!context_->options().require_srtp) return SSL_CLIENT_HELLO_SUCCESS;
  // RFC 5764 §4.1.1: UseSRTPData { SRTPProtectionProfiles (uint16 list); opaque
  // srtp_mki<0..255> }
  const unsigned char* ext = nullptr;
  size_t len = 0;
  bool common = false;
  if (SSL_client_hello_get0_ext(ssl_.get(), TLSEXT_TYPE_use_srtp, &ext, &len) ==
          1 &&
      len >= 2) {
    size_t list_len = static_cast<size_t>(ext[0] << 8 | ext[1]);
    auto ours = parse_srtp_profiles(context_->options().srtp_profiles);
    for (size_t i = 2; ours.ok() && i + 1 < 2 + list_len && i + 1 < len;
         i += 2) {
      std::uint16_t id = static_cast<std::uint16_t>(ext[i] << 8 | ext[i + 1]);
      for (const auto& name : *ours)
        common = common || srtp_profile_id(name) == id;
    }
  }
  if (common) return SSL_CLIENT_HELLO_SUCCESS;
  pending_error_ = make_error("ERR_DTLS_SRTP_NO_COMMON_PROFILE",
                              "the client offered none of our SRTP profiles");
  *alert = SSL_AD_HANDSHAKE_FAILURE;
  return SSL_CLIENT_HELLO_ERROR;
}

bool DtlsAssociation::on_verify_cookie(std::span<const std::uint8_t> cookie) {
  return !verified_cookie_.empty() &&
         std::equal(cookie.begin(), cookie.end(), verified_cookie_.begin(),
                    verified_cookie_.end());
}

std::string DtlsAssociation::protocol() const {
  if (state_ != State::kOpen && state_ != State::kClosed) return "";
  return released_ ? released_->facts().protocol : SSL_get_version(ssl_.get());
}

std::optional<CipherInfo> DtlsAssociation::cipher() const {
  return released_ ? released_->facts().cipher : cipher_info_of(ssl_.get());
}

std::string DtlsAssociation::srtp_profile() const {
  return released_ ? released_->facts().srtp_profile
                   : srtp_profile_of(ssl_.get());
}

std::string DtlsAssociation::alpn_protocol() const {
  return released_ ? released_->facts().alpn_protocol
                   : alpn_protocol_of(ssl_.get());
}

std::optional<certs::Certificate> DtlsAssociation::peer_certificate() const {
  return released_ ? released_->facts().peer_certificate
                   : peer_certificate_of(ssl_.get());
}

Result<std::vector<std::uint8_t>> DtlsAssociation::export_keying_material(
    size_t length, std::string_view label,
    std::optional<std::span<const std::uint8_t>> context) const {
  if (state_ != State::kOpen) {
    return make_error("ERR_DTLS_SESSION_NOT_OPEN",
                      "keying material exists once the handshake completes");
  }
  if (length == 0 || length > 65535)
    return out_of_range("length must be 1..65535");
  // RFC 5705 §4 allows a context up to 65535 bytes, but OpenSSL 3.0's TLS PRF
  // takes at most 1024 bytes of seed (TLS1_PRF_MAXBUF): the label, both
  // randoms and the context with its length. Past that it fails with an
  // internal error; here it is refused up front, the same for a session
  // OpenSSL holds and one it has let go.
  constexpr size_t kMaxSeed = 1024, kRandoms = 64;
  if (label.size() + kRandoms + (context ? 2 + context->size() : 0) >
      kMaxSeed) {
    return out_of_range(
        "the label, with a context and its 2-byte length, "
        "must be at most " +
        std::to_string(kMaxSeed - kRandoms) + " bytes");
  }
  if (released_)
    return released_->export_keying_material(length, label, context);
  std::vector<std::uint8_t> out(length);
  int ok = SSL_export_keying_material(
      ssl_.get(), out.data(), length, label.data(), label.size(),
      context ? context->data() : nullptr, context ? context->size() : 0,
      context ? 1 : 0);
  if (ok != 1) {
    return make_error(
        "ERR_DTLS_EXPORT_FAILED",
        "keying material export failed: " + drain_openssl_errors());
  }
  return out;
}

size_t DtlsAssociation::max_message_size() const {
  if (state_ != State::kOpen) return 0;
  return std::min<size_t>(
      released_ ? released_->facts().data_mtu : DTLS_get_data_mtu(ssl_.get()),
      max_send_fragment_);
}

bool DtlsAssociation::set_max_send_fragment(size_t size) {
  if (size < kMinSendFragment || size > kMaxSendFragment) return false;
  // Released: each message is one record of ours, held to it by send().
  if (!released_ &&
      SSL_set_max_send_fragment(ssl_.get(), static_cast<long>(size)) != 1) {
    drain_openssl_errors();
    return false;
  }
  max_send_fragment_ = size;
  return true;
}

Result<std::shared_ptr<SSL_SESSION>> decode_session(
    std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  std::shared_ptr<SSL_SESSION> session(
      d2i_SSL_SESSION(nullptr, &p, static_cast<long>(der.size())),
      SSL_SESSION_free);
  if (!session || p != der.data() + der.size()) {
    drain_openssl_errors();
    return make_error("ERR_INVALID_ARG_VALUE",
                      "session: not a DER session blob");
  }
  if (SSL_SESSION_get_protocol_version(session.get()) != DTLS1_2_VERSION &&
      SSL_SESSION_get_protocol_version(session.get()) != DTLS1_VERSION) {
    return make_error("ERR_INVALID_ARG_VALUE", "session: not a DTLS session");
  }
  return session;
}

bool DtlsAssociation::matches_pins(const certs::Certificate& cert) const {
  return std::any_of(
      options_.peer_fingerprints.begin(), options_.peer_fingerprints.end(),
      [&](const certs::Fingerprint& f) { return f.matches(cert); });
}

Status DtlsAssociation::check_host(const certs::Certificate& cert) {
  if (role_ != Role::kClient || options_.servername.empty()) return {};
  certs::PeerCertificate details = certs::describe(cert);
  Status s = options_.check_server_identity
                 ? options_.check_server_identity(options_.servername, details)
                 : certs::check_server_identity(options_.servername, details);
  if (!s.ok()) {
    authorized_ = false;
    authorization_error_ = s.error().code;
  }
  return s;
}

Status DtlsAssociation::check_resumed_session() {
  X509* peer = SSL_get0_peer_certificate(ssl_.get());
  const SSL_CIPHER* c = SSL_get_current_cipher(ssl_.get());
  if (c && SSL_CIPHER_get_auth_nid(c) == NID_auth_psk) {
    authorized_ = true;
    return {};
  }
  if (!options_.peer_fingerprints.empty()) {
    // The pins of this association, not those of the one that made the
    // session, decide.
    if (peer == nullptr) {
      return make_error("ERR_DTLS_PEER_CERTIFICATE_REQUIRED",
                        "the resumed session holds no peer certificate");
    }
    X509_up_ref(peer);
    if (!matches_pins(certs::Certificate(ossl::X509Ptr(peer)))) {
      return make_error("ERR_DTLS_CERT_FINGERPRINT_MISMATCH",
                        "the resumed session's peer certificate matches no "
                        "pinned fingerprint");
    }
    authorized_ = true;
    return {};
  }
  if (peer == nullptr) {
    // A server that asked for no client certificate: as after a full
    // handshake.
    authorized_ = false;
    return {};
  }
  long result = SSL_get_verify_result(ssl_.get());
  // A chain that verified but failed its host name check is judged on this
  // connection's servername below.
  authorized_ = result == X509_V_OK || result == X509_V_ERR_HOSTNAME_MISMATCH;
  if (!authorized_) authorization_error_ = node_verify_code(int(result));
  if (authorized_) {
    // The blob may come from a connection to another host.
    X509_up_ref(peer);
    certs::Certificate cert{ossl::X509Ptr(peer)};
    if (Status s = check_host(cert); !s.ok() && options_.reject_unauthorized)
      return s;
  }
  if (!authorized_ && options_.reject_unauthorized &&
      (role_ == Role::kClient || options_.request_cert)) {
    return make_error(authorization_error_,
                      X509_verify_cert_error_string(result));
  }
  return {};
}

int DtlsAssociation::on_servername(int* alert) {
  if (role_ != Role::kServer || !options_.sni_callback)
    return SSL_TLSEXT_ERR_NOACK;
  const char* name = SSL_get_servername(ssl_.get(), TLSEXT_NAMETYPE_host_name);
  if (name == nullptr) return SSL_TLSEXT_ERR_NOACK;
  auto chosen = options_.sni_callback(name);
  if (!chosen.ok()) {
    pending_error_ = chosen.error();
    *alert = SSL_AD_UNRECOGNIZED_NAME;
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  }
  if (*chosen && *chosen != context_) {
    if (!(*chosen)->has_certificate()) {
      pending_error_ =
          make_error("ERR_INVALID_ARG_VALUE",
                     "sni_callback returned a context without a certificate");
      *alert = SSL_AD_INTERNAL_ERROR;
      return SSL_TLSEXT_ERR_ALERT_FATAL;
    }
    SSL_set_SSL_CTX(ssl_.get(), (*chosen)->get());
    sni_context_ = std::move(chosen).value();
  }
  return SSL_TLSEXT_ERR_OK;
}

void DtlsAssociation::on_new_session(SSL_SESSION* session) {
  if (role_ != Role::kClient) return;
  std::vector<std::uint8_t> der = encode_session(session);
  if (!der.empty()) push_event(DtlsEvent::Type::kSession, std::move(der));
}

int DtlsAssociation::on_ticket_key(unsigned char* name, unsigned char* iv,
                                   EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac,
                                   int enc) {
  // The listening context's keys, also after SNI chose another context.
  return context_->ticket_keys().apply(name, iv, cipher, mac, enc == 1);
}

unsigned int DtlsAssociation::psk_server_cb(SSL* ssl, const char* identity,
                                            unsigned char* psk,
                                            unsigned int max_psk_len) {
  auto* self = from_ssl(ssl);
  if (self == nullptr || !self->options_.psk_server) return 0;
  auto key = self->options_.psk_server(identity ? identity : "");
  if (!key) {
    self->pending_error_ =
        make_error("ERR_DTLS_PSK_UNKNOWN_IDENTITY",
                   "no key for PSK identity \"" +
                       std::string(identity ? identity : "") + "\"");
    return 0;
  }
  if (key->empty() || key->size() > max_psk_len) {
    self->pending_error_ = make_error(
        "ERR_DTLS_PSK_INVALID",
        "psk_callback returned a key of " + std::to_string(key->size()) +
            " bytes (1.." + std::to_string(max_psk_len) + ")");
    return 0;
  }
  std::copy(key->begin(), key->end(), psk);
  return static_cast<unsigned int>(key->size());
}

unsigned int DtlsAssociation::psk_client_cb(SSL* ssl, const char* hint,
                                            char* identity,
                                            unsigned int max_identity_len,
                                            unsigned char* psk,
                                            unsigned int max_psk_len) {
  auto* self = from_ssl(ssl);
  if (self == nullptr || !self->options_.psk_client) return 0;
  auto id = self->options_.psk_client(hint ? hint : "");
  if (!id) {
    self->pending_error_ = make_error(
        "ERR_DTLS_PSK_REFUSED", "psk_callback gave no identity for the hint");
    return 0;
  }
  if (id->identity.size() > kMaxPskIdentity ||
      id->identity.size() >= max_identity_len || id->key.empty() ||
      id->key.size() > max_psk_len) {
    self->pending_error_ = make_error(
        "ERR_DTLS_PSK_INVALID", "psk_callback: the identity must be at most " +
                                    std::to_string(kMaxPskIdentity) +
                                    " bytes and the key 1.." +
                                    std::to_string(max_psk_len) + " bytes");
    return 0;
  }
  std::copy(id->identity.begin(), id->identity.end(), identity);
  identity[id->identity.size()] = '\0';
  std::copy(id->key.begin(), id->key.end(), psk);
  return static_cast<unsigned int>(id->key.size());
}

bool DtlsAssociation::is_session_reused() const {
  if (state_ != State::kOpen) return false;
  return released_ ? released_->facts().reused
                   : SSL_session_reused(ssl_.get()) == 1;
}

std::vector<std::uint8_t> DtlsAssociation::session() const {
  if (state_ == State::kHandshaking) return {};
  return encode_session(released_ ? released_->facts().session.get()
                                  : SSL_get_session(ssl_.get()));
}

std::vector<std::uint8_t> DtlsAssociation::tls_ticket() const {
  if (role_ != Role::kClient) return {};
  return tls_ticket_of(released_ ? released_->facts().session.get()
                                 : SSL_get_session(ssl_.get()));
}

std::vector<std::uint8_t> DtlsAssociation::finished() const {
  return released_ ? released_->facts().finished
                   : finished_of(ssl_.get(), false);
}

std::vector<std::uint8_t> DtlsAssociation::peer_finished() const {
  return released_ ? released_->facts().peer_finished
                   : finished_of(ssl_.get(), true);
}

std::vector<std::string> DtlsAssociation::shared_sigalgs() const {
  return released_ ? released_->facts().shared_sigalgs
                   : shared_sigalgs_of(ssl_.get());
}

std::optional<EphemeralKeyInfo> DtlsAssociation::ephemeral_key_info() const {
  if (role_ != Role::kClient) return std::nullopt;
  if (!released_)
    return peer_ephemeral_key_of(ssl_.get(), state_ == State::kOpen);
  // As the live read answers: "none" (plain PSK) only while open.
  const auto& key = released_->facts().ephemeral_key;
  if (key && key->type.empty() && state_ != State::kOpen) return std::nullopt;
  return key;
}

std::string DtlsAssociation::servername() const {
  return released_ ? released_->facts().servername : servername_of(ssl_.get());
}

std::optional<certs::Certificate> DtlsAssociation::certificate() const {
  return released_ ? released_->facts().certificate
                   : certificate_of(ssl_.get());
}

}  // namespace dtls
