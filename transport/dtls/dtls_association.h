// One DTLS 1.2 association as a sans-I/O state machine over OpenSSL.
//
// Input: datagrams and "now". Output: datagrams to send (pop_datagram), the
// next deadline (next_deadline, then handle_timeout), and events (pop_event).
// No sockets, threads or clock reads here. OpenSSL's own DTLS retransmission
// timer reads the wall clock (gettimeofday); the deadline reported here is
// "now" plus what that timer has left, so a caller whose clock runs at
// wall-clock rate (any real event loop) sees retransmissions exactly on
// schedule. Tests drive OpenSSL's clock from their simulated clock
// (tests/testing/fake_wall_clock).
#ifndef DTLS_SRTP_TRANSPORT_DTLS_DTLS_ASSOCIATION_H_
#define DTLS_SRTP_TRANSPORT_DTLS_DTLS_ASSOCIATION_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "certs/fingerprint.h"
#include "certs/peer_certificate.h"
#include "transport/base/time.h"
#include "transport/dtls/datagram_bio.h"
#include "transport/dtls/dtls_context.h"
#include "transport/dtls/record_guard.h"
#include "transport/dtls/released_session.h"
#include "transport/dtls/retransmit_timer.h"
#include "transport/dtls/session_facts.h"

namespace dtls {

struct AssociationOptions {
  // Client: the name to check the server certificate against (node
  // `servername`/host). Empty: no host check.
  std::string servername;
  // CA mode: fail the handshake when the peer's chain does not verify (node
  // `rejectUnauthorized`). When false the handshake goes on and authorized()
  // says false.
  bool reject_unauthorized = true;
  // Server: ask the client for a certificate (node `requestCert`).
  bool request_cert = false;
  // Pinning (RFC 8122, WebRTC's a=fingerprint): when non-empty, the peer must
  // present a certificate matching one of these, and no CA chain or host name
  // is checked. A server then always requires a client certificate.
  std::vector<certs::Fingerprint> peer_fingerprints;
  // node `checkServerIdentity`; default certs::check_server_identity.
  std::function<Status(std::string_view, const certs::PeerCertificate&)>
      check_server_identity;
  // Largest datagram we send (UDP payload bytes), 256..65535. Handshake flights
  // are fragmented to fit it.
  std::uint32_t mtu = 1200;
  // RFC 6347 §4.2.4.1: initial retransmission timeout, doubled on each
  // retransmission and capped at max_retransmit_timeout. 20 ms..60 s, or 0
  // (the default): default_initial_timeout, 400 ms when the context offers
  // use_srtp (RFC 9147 §5.8.2's value for DTLS-SRTP), 1 s otherwise.
  std::chrono::milliseconds initial_retransmit_timeout{0};
  // 20 ms..60 s (RFC 6347's cap is 60 s), and not below a set
  // initial_retransmit_timeout.
  std::chrono::milliseconds max_retransmit_timeout = RetransmitConfig{}.max;
  // The initial timeout of each flight follows the round trip measured on
  // earlier flights (RetransmitTimer, RFC 9147 §5.8), within its floor and
  // adaptive_ceiling. On by default.
  bool adaptive_retransmit = RetransmitConfig{}.adaptive;
  // A round trip to the peer known before the handshake (0: none), 0..60 s:
  // ICE's, or an earlier session's with the same peer (RFC 9002 §6.2.2, RFC
  // 8489 §6.2.1 cache one per server). With adaptive_retransmit it is the
  // estimator's first sample, so even the first flight is timed by it; RFC
  // 9147 §5.8.2 keeps the initial value for a first flight only without such
  // knowledge.
  std::chrono::milliseconds initial_rtt{0};
  // The most initial_rtt and remembered_rtt may be.
  static constexpr std::chrono::seconds kMaxKnownRtt{60};
  // A client association an endpoint starts without initial_rtt starts
  // from the round trip the endpoint's last handshake with the same host
  // measured within 10 minutes (EndpointCore, RttCache), which it sets in
  // remembered_rtt. False starts from nothing, as a first contact does.
  bool use_rtt_cache = true;
  // With adaptive_retransmit and no initial_rtt: the estimator's first
  // sample (RetransmitTimer::remember), which shortens the first flight's
  // wait but never makes it longer than the initial timeout. 0: none.
  std::chrono::milliseconds remembered_rtt{0};
  // The whole handshake must finish within this (node `handshakeTimeout`), 1
  // ms..1 h.
  std::chrono::milliseconds handshake_timeout{120000};
  // An open association that receives nothing (no DTLS, and no media the
  // caller reports with note_activity) for this long ends with
  // ERR_DTLS_IDLE_TIMEOUT: a peer that vanished without close_notify. 0 (the
  // default) never ends it; otherwise 1 ms..24 h.
  std::chrono::milliseconds idle_timeout{0};
  // The same, while idle_timeout is 0, for an association whose peer has
  // sent media (note_media): a live media peer sends RTCP at least every
  // 5 s (RFC 3550 §6.2), so 30 s of silence is a peer gone, as for ICE
  // consent (RFC 7675 §5.1). It waits for the first packet so that a peer
  // still finishing its handshake (retransmissions up to a minute apart) is
  // never ended by it. 0 never ends it.
  std::chrono::milliseconds media_idle_timeout{std::chrono::seconds(30)};
  // Once open, let OpenSSL's SSL go and keep only the record keys and what
  // the getters report (ReleasedSession): about 30 KiB less per session.
  // Only for the AEAD suites (all of the default list); and the side that
  // sent the handshake's last flight (a full handshake's server, a resumed
  // one's client) waits until the peer shows it has it (RFC 6347 §4.2.4:
  // until then a repeated last flight of the peer's must be answered),
  // which authenticated application data or SRTP from the peer does (not
  // an alert: a warning may come before the peer's handshake is over).
  // Renegotiation is refused either way.
  bool release_after_handshake = true;
  // How long that side waits for the peer's proof before it lets go anyway:
  // RFC 6347 §4.2.4 asks for at least twice the default MSL (2 minutes,
  // RFC 793), and a peer that was going to repeat its last flight has given
  // up long before. A peer that never speaks after its handshake (a plain
  // DTLS client that only listens) so costs OpenSSL's memory only that long.
  // A repeated last flight of the peer's that we answer starts the hold
  // again. 0 waits for the proof however long it takes; otherwise 1 ms..24 h.
  std::chrono::milliseconds last_flight_hold{std::chrono::minutes(4)};
  // Emit kKeylog events with NSS key log lines.
  bool keylog = false;

  // Client: resume this session (a kSession event's DER blob, decoded by
  // decode_session). The server decides; is_session_reused() tells.
  std::shared_ptr<SSL_SESSION> session;

  // TLS-PSK (RFC 4279), with PSK cipher suites in the context's `ciphers`.
  // Server: the key for a client's identity; nullopt refuses it (the
  // handshake fails with unknown_psk_identity).
  std::function<std::optional<std::vector<std::uint8_t>>(
      std::string_view identity)>
      psk_server;
  // Server: the hint sent to clients (RFC 4279 §5.1), at most 128 bytes.
  std::string psk_identity_hint;
  // Client: the identity (at most 128 bytes) and key (1..256 bytes) for the
  // server's hint ("" when none); nullopt abandons the handshake.
  struct PskIdentity {
    std::string identity;
    std::vector<std::uint8_t> key;
  };
  std::function<std::optional<PskIdentity>(std::string_view hint)> psk_client;

  // Server (node `SNICallback`): the context for the name a client asked for
  // (RFC 6066 §3). Null keeps ours; an error fails the handshake with an
  // unrecognized_name alert.
  std::function<Result<std::shared_ptr<const DtlsContext>>(
      std::string_view servername)>
      sni_callback;
};

// A session blob (DER, from a kSession event or session()) for
// AssociationOptions::session. ERR_INVALID_ARG_VALUE when it is not a DTLS 1.2
// session.
Result<std::shared_ptr<SSL_SESSION>> decode_session(
    std::span<const std::uint8_t> der);

// Checks option ranges (ERR_OUT_OF_RANGE) so that callers can refuse bad
// options up front.
Status validate_association_options(const AssociationOptions& options);
// The retransmission schedule `options` ask for.
// `dtls_srtp`: the context offers use_srtp (DtlsContext::offers_srtp).
RetransmitConfig retransmit_config(const AssociationOptions& options,
                                   bool dtls_srtp);

struct DtlsEvent {
  enum class Type {
    kHandshakeComplete,
    kData,     // `data` is one application message
    kKeylog,   // `data` is one NSS key log line, no newline
    kSession,  // client: `data` is a resumable session (DER, node 'session')
    kClosed,   // the peer's close_notify, or our close() completed
    kError,    // `error` says why; the association is finished
  };
  Type type = Type::kError;
  std::vector<std::uint8_t> data;
  Error error;
};

struct AssociationStats {
  std::uint64_t bytes_sent = 0;  // application payload
  std::uint64_t bytes_received = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t retransmit_count = 0;  // timer-driven flight retransmissions
  std::uint64_t datagrams_sent = 0;
  std::uint64_t datagrams_received = 0;
  // Records the guard dropped before OpenSSL saw them, by reason.
  RecordDropStats record_drops;
  // The retransmission timer's smoothed round trip (RFC 6298), once it has
  // a sample measured on this path or given as initial_rtt: what a later
  // session with this peer may take as initial_rtt.
  std::optional<Duration> smoothed_rtt;
  // The round trip the handshake started from, remembered from an earlier
  // one with the same host (AssociationOptions::remembered_rtt); not in
  // smoothed_rtt, which it never reaches.
  std::optional<Duration> remembered_rtt;
  TimePoint created_at{};
  std::optional<TimePoint> handshake_completed_at;
  // When OpenSSL let the open association go (release_after_handshake).
  std::optional<TimePoint> released_at;
};

class DtlsAssociation final : private SslEventSink {
 public:
  enum class State { kHandshaking, kOpen, kClosed, kFailed };

  // Client: queues the first ClientHello.
  static Result<std::unique_ptr<DtlsAssociation>> connect(
      std::shared_ptr<const DtlsContext> context, AssociationOptions options,
      TimePoint now);

  // Server: `client_hello` is a datagram the CookieGate accepted with `cookie`;
  // per-peer state starts here (RFC 6347 §4.2.1). `cookie_age`, when the gate
  // measured it, is the round trip the cookie exchange took: with
  // adaptive_retransmit the server's first flight is timed by it.
  static Result<std::unique_ptr<DtlsAssociation>> accept(
      std::shared_ptr<const DtlsContext> context, AssociationOptions options,
      std::span<const std::uint8_t> client_hello,
      std::span<const std::uint8_t> cookie, TimePoint now,
      std::optional<Duration> cookie_age = std::nullopt);

  ~DtlsAssociation() override;
  DtlsAssociation(const DtlsAssociation&) = delete;
  DtlsAssociation& operator=(const DtlsAssociation&) = delete;

  // One received datagram (it may hold several records). Each record passes
  // the record guard first; those it drops are counted in
  // stats().record_drops and never answered.
  void handle_datagram(std::span<const std::uint8_t> datagram, TimePoint now);
  // Record drops are also added to `totals` (an endpoint's), which must
  // outlive the association; null stops that.
  void share_record_drops(RecordDropStats* totals) {
    guard_.set_shared_stats(totals);
  }
  // Counts this association's release (released()) in `*total` too, which
  // must outlive it: an endpoint's sum over its sessions.
  void count_release_in(std::uint64_t* total) { release_total_ = total; }
  // Traffic for this association that bypasses it (SRTP/SRTCP keeps the
  // session alive for idle_timeout).
  void note_activity(TimePoint now) { last_activity_ = now; }
  bool tracks_activity() const { return idle_timeout_.count() != 0; }
  // Authenticated SRTP/SRTCP from the peer: activity, and the first packet
  // arms media_idle_timeout when no idle_timeout is set, and shows the peer
  // has our last flight (release_after_handshake). True when that moved
  // next_deadline().
  bool note_media(TimePoint now) {
    last_activity_ = now;
    if (media_seen_) return false;
    return first_media(now);
  }
  // What ends this association for silence: idle_timeout, or
  // media_idle_timeout once media has come; 0 for never.
  std::chrono::milliseconds idle_timeout() const { return idle_timeout_; }
  // Call at or after next_deadline(): retransmits a flight or ends a handshake
  // that ran out.
  void handle_timeout(TimePoint now);
  // When handle_timeout wants to run next; nullopt when nothing is scheduled.
  std::optional<TimePoint> next_deadline() const;

  // The oldest datagram to send, moved into `out`. False when there is none.
  bool pop_datagram(std::vector<std::uint8_t>& out) { return queue_.pop(out); }
  bool pop_event(DtlsEvent& out);

  // One application message in one record and one datagram. Returns the bytes
  // written. ERR_DTLS_SESSION_NOT_OPEN before the handshake or after close;
  // ERR_DTLS_MESSAGE_TOO_LARGE beyond max_message_size().
  Result<size_t> send(std::span<const std::uint8_t> message);
  // Sends close_notify (RFC 5246 §7.2.1) and ends the association.
  void close();

  State state() const { return state_; }
  // Server: the peer has answered our first flight (OpenSSL has read a
  // message of its second flight), or the handshake is over. A server
  // association that stays false is half-open (see HalfOpenTable).
  bool peer_progressed() const { return progressed_; }
  // Handshake state transitions so far (messages read and written); a
  // repeated flight, ours or the peer's, adds none.
  std::uint64_t handshake_steps() const { return handshake_steps_; }
  Role role() const { return role_; }
  // "DTLSv1.2" once open, else "".
  std::string protocol() const;
  std::optional<CipherInfo> cipher() const;
  // The negotiated profile ("SRTP_AES128_CM_SHA1_80"), or "" when none was
  // agreed.
  std::string srtp_profile() const;
  std::string alpn_protocol() const;
  std::optional<certs::Certificate> peer_certificate() const;
  // CA mode: whether the peer's chain verified (and its name matched). Pinning:
  // true.
  bool authorized() const { return authorized_; }
  // node's authorizationError code ("DEPTH_ZERO_SELF_SIGNED_CERT", ...), ""
  // when none.
  const std::string& authorization_error() const {
    return authorization_error_;
  }
  // RFC 5705 exporter. ERR_DTLS_SESSION_NOT_OPEN before the handshake
  // completes, ERR_OUT_OF_RANGE for a length of 0 or over 65535, or a label,
  // with a context and its 2-byte length when given, over 960 bytes
  // (OpenSSL 3.0's PRF seed limit);
  // ERR_DTLS_EXPORT_FAILED for a label the PRF reserves ("key expansion",
  // ...).
  Result<std::vector<std::uint8_t>> export_keying_material(
      size_t length, std::string_view label,
      std::optional<std::span<const std::uint8_t>> context =
          std::nullopt) const;
  // Largest application message that fits one datagram at the configured MTU
  // (and the max send fragment).
  size_t max_message_size() const;
  // node's setMaxSendFragment: kMinSendFragment..kMaxSendFragment bytes of
  // plaintext per record; false (and no change) outside that range.
  bool set_max_send_fragment(size_t size);
  // RFC 6066 §4's smallest max_fragment_length, and TLS's largest record.
  static constexpr size_t kMinSendFragment = 512;
  static constexpr size_t kMaxSendFragment = 16384;

  // Resumption (node's isSessionReused / getSession / getTLSTicket).
  bool is_session_reused() const;
  // The current session as DER, empty before the handshake.
  std::vector<std::uint8_t> session() const;
  // Client: the ticket the server issued (empty when none). Server: empty.
  std::vector<std::uint8_t> tls_ticket() const;
  // RFC 5929 tls-unique material: our Finished and the peer's (empty before).
  std::vector<std::uint8_t> finished() const;
  std::vector<std::uint8_t> peer_finished() const;
  // node's getSharedSigalgs(): "ECDSA+SHA256", "RSA-PSS+SHA256", ...
  std::vector<std::string> shared_sigalgs() const;
  // Client only (nullopt on a server, or before the key exchange).
  std::optional<EphemeralKeyInfo> ephemeral_key_info() const;
  // Server: the name the client asked for (SNI); client: the name sent.
  std::string servername() const;
  // Our certificate in this handshake (after SNI), if any.
  std::optional<certs::Certificate> certificate() const;
  const AssociationStats& stats() const { return stats_; }
  // The retransmission timer: its RTT estimate (adaptive_retransmit).
  const RetransmitTimer& retransmit_timer() const { return timer_; }
  // Whether OpenSSL's record buffers are freed right now: true for an open
  // session between calls (about 20 KiB less per idle session), and for a
  // server waiting for the client's second flight (a half-open handshake).
  bool record_buffers_released() const { return buffers_released_; }
  // Whether OpenSSL has let the association go (AssociationOptions::
  // release_after_handshake): its records are ours (ReleasedSession) from
  // then on.
  bool released() const { return released_ != nullptr; }

 private:
  DtlsAssociation(std::shared_ptr<const DtlsContext> context,
                  AssociationOptions options, Role role, TimePoint now);
  Status init();
  void pump(TimePoint now);
  void read_application_data();
  bool first_media(TimePoint now);
  // Lets OpenSSL go once the association is open and no retransmission of
  // the handshake's can be needed (see AssociationOptions).
  void maybe_release(TimePoint now);
  // A record that passed the guard, once released.
  void handle_released_record(const RecordGuard::Record& record, TimePoint now);
  // One record of ours in one datagram, once released; false when it cannot
  // be sealed.
  bool write_released(std::uint8_t content_type,
                      std::span<const std::uint8_t> plaintext);
  void write_alert(int level, int description);
  Error alert_error(int description) const;
  void fail(Error error);
  void push_event(DtlsEvent::Type type, std::vector<std::uint8_t> data = {},
                  Error error = {});
  void update_timer(TimePoint now);
  // What the record guard lets through now.
  RecordGuard::ReadState read_state() const;
  // After a record during the handshake: whether it moved the handshake and
  // whether we wrote, for the retransmission timer.
  void note_flights(bool stepped, bool wrote);
  Error handshake_error();
  // OpenSSL's record buffers, held only during a call once the session is
  // open (see release_buffers). take_buffers is false, and the association
  // failed, when they cannot be allocated.
  bool take_buffers();
  void release_buffers();
  class BufferScope;

  // SslEventSink
  void on_keylog_line(const char* line) override;
  void on_alert(bool sent, int level, int description) override;
  void on_handshake_step() override;
  int on_verify_certificate(X509_STORE_CTX* store) override;
  int on_client_hello(int* alert) override;
  bool on_verify_cookie(std::span<const std::uint8_t> cookie) override;
  int on_servername(int* alert) override;
  void on_new_session(SSL_SESSION* session) override;
  int on_ticket_key(unsigned char* name, unsigned char* iv,
                    EVP_CIPHER_CTX* cipher, EVP_MAC_CTX* mac, int enc) override;
  static unsigned int psk_server_cb(SSL* ssl, const char* identity,
                                    unsigned char* psk,
                                    unsigned int max_psk_len);
  static unsigned int psk_client_cb(SSL* ssl, const char* hint, char* identity,
                                    unsigned int max_identity_len,
                                    unsigned char* psk,
                                    unsigned int max_psk_len);
  // A resumed session skipped the certificate callbacks: its stored peer
  // certificate and verify result are checked again here.
  Status check_resumed_session();
  // Client, CA mode: node's checkServerIdentity against `servername` (for a
  // chain that verified); a failure clears authorized().
  Status check_host(const certs::Certificate& cert);
  // Pinning: whether `cert` matches one of peer_fingerprints.
  bool matches_pins(const certs::Certificate& cert) const;

  // The association behind an SSL object (its app data), or null.
  static DtlsAssociation* from_ssl(const SSL* ssl);
  static unsigned int timer_cb(SSL* ssl, unsigned int previous_us);

  std::shared_ptr<const DtlsContext> context_;
  AssociationOptions options_;
  Role role_;
  State state_ = State::kHandshaking;
  DatagramQueue queue_;
  ossl::SslPtr ssl_;
  std::vector<DtlsEvent> events_;  // events_[event_head_..] wait
  size_t event_head_ = 0;
  AssociationStats stats_;
  RecordGuard guard_{stats_.record_drops};
  RetransmitTimer timer_;
  // Alerts OpenSSL read from the peer (after decryption, when protected).
  std::uint64_t alerts_received_ = 0;
  // Handshake state transitions so far (on_handshake_step).
  std::uint64_t handshake_steps_ = 0;
  // The time of the call into OpenSSL under way, for its callbacks.
  TimePoint now_{};
  // Whether that call is reading one of the peer's records.
  bool reading_peer_ = false;
  // The open session's smallest protected record (its cipher's expansion).
  size_t min_protected_length_ = 0;
  TimePoint handshake_deadline_;
  TimePoint last_activity_;
  std::chrono::milliseconds idle_timeout_;  // see idle_timeout()
  bool media_seen_ = false;
  std::optional<TimePoint> retransmit_deadline_;
  std::vector<std::uint8_t> verified_cookie_;
  bool buffers_released_ = false;
  bool progressed_ = false;
  bool authorized_ = false;
  std::string authorization_error_;
  std::optional<Error>
      pending_error_;  // set by callbacks that abort the handshake
  std::optional<int> received_alert_;  // the last fatal alert the peer sent
  // The SNI callback's context (SSL_set_SSL_CTX does not keep it alive).
  std::shared_ptr<const DtlsContext> sni_context_;
  size_t max_send_fragment_ = kMaxSendFragment;
  // Set once OpenSSL has let go (ssl_ is then null).
  std::unique_ptr<ReleasedSession> released_;
  // The peer has shown it has our last flight: it sent what it sends only
  // after its handshake (authenticated application data, SRTP).
  bool peer_has_our_flight_ = false;
  // Until then the side that sent it holds OpenSSL until this
  // (last_flight_hold from the handshake's end, or from our last answer to
  // a repeated flight of the peer's); hold_over_ once it has passed.
  std::optional<TimePoint> hold_deadline_;
  bool hold_over_ = false;
  std::uint64_t* release_total_ = nullptr;  // count_release_in
  // The suite has no record layer of ours: OpenSSL keeps the association.
  bool release_refused_ = false;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_DTLS_ASSOCIATION_H_
