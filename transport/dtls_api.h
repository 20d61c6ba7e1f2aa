// The public API, node:dtls in C++ style (../shared/spec/node-dtls-api.txt):
//   dtls.listen(cb, options)        -> dtls::listen(loop, on_session,
//   ListenOptions) dtls.connect(host, port, opts)  -> dtls::connect(loop, host,
//   port, ConnectOptions) DTLSSession / DTLSEndpoint      -> dtls::Session /
//   dtls::Endpoint (copyable handles)
//
// Threads. Every callback runs on the loop's thread.
// - On the caller's uv_loop_t: call everything on that loop's thread. The
//   futures from opened() and closed() may be waited on from any other thread
//   (never on the loop's own thread, which would stop the loop that resolves
//   them).
// - On an EventLoop (a loop the library runs on its own thread): every member
//   of Session and Endpoint may be called from any thread. Calls from other
//   threads cross to the loop through its uv_async_t and wait for the answer;
//   calls from callbacks run at once. After EventLoop::stop(), handles stay
//   safe: their calls fail as for a destroyed session.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_API_H_
#define DTLS_SRTP_TRANSPORT_DTLS_API_H_

#include <uv.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "certs/certificate.h"
#include "srtp/srtp_context.h"
#include "srtp/srtp_keys.h"
#include "transport/dtls_association.h"
#include "transport/error.h"
#include "transport/event_loop.h"
#include "transport/half_open_table.h"
#include "transport/ice_lite.h"
#include "transport/time.h"

namespace dtls {

namespace detail {
struct SessionCore;
struct EndpointCore;
}  // namespace detail

// node's { address, family, port }.
struct AddressInfo {
  std::string address;
  std::string family;  // "IPv4" / "IPv6"
  std::uint16_t port = 0;
};

struct SessionStats {
  TimePoint created_at{};
  std::optional<TimePoint> destroyed_at;
  std::optional<TimePoint> closing_at;
  std::optional<TimePoint> handshake_completed_at;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t messages_sent = 0;
  std::uint64_t retransmit_count = 0;
  // The handshake's smoothed round trip (RFC 6298), from the cookie exchange
  // and the flights; empty before a first sample.
  std::optional<Duration> smoothed_rtt;
  // SRTP/SRTCP: packets and bytes protected and unprotected, inbound failures
  // by kind (authentication, replay, malformed, too short), key soft-limit
  // events.
  srtp::MediaCounters media;
  // DTLS records dropped before OpenSSL saw them, by reason (RFC 6347
  // §4.1.2.7; see the README's "Bad input").
  RecordDropStats record_drops;
  bool is_connected = false;  // false: a snapshot taken when the session ended
};

struct EndpointStats {
  TimePoint created_at{};
  std::optional<TimePoint> destroyed_at;
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t packets_sent = 0;
  std::uint64_t server_sessions = 0;
  std::uint64_t client_sessions = 0;
  std::uint64_t server_busy_count = 0;
  // The sum of its sessions' record_drops, ended sessions included.
  RecordDropStats record_drops;
  // Half-open handshakes now, and those replaced by newer hellos or ended
  // for not progressing (see ListenOptions::max_half_open).
  std::uint64_t half_open = 0;
  std::uint64_t half_open_evicted = 0;
  std::uint64_t half_open_expired = 0;
  std::uint64_t half_open_refused = 0;
  bool is_connected = false;
};

struct EndpointState {
  bool bound = false;
  bool listening = false;
  bool closing = false;
  bool destroyed = false;
  size_t session_count = 0;
};

class DtlsContext;
struct SecureOptions;

// node's tls.createSecureContext(): certificate, key, CA list, ciphers, ALPN
// and SRTP profiles loaded once and shared by any number of listen/connect
// calls (loading PEM and building an SSL_CTX costs about a millisecond).
class SecureContext {
 public:
  SecureContext() = default;
  explicit operator bool() const { return context_ != nullptr; }

 private:
  friend Result<SecureContext> create_secure_context(const SecureOptions&);
  friend struct SecureContextAccess;
  std::shared_ptr<const DtlsContext> context_;
};

// One more private key (node's `key` array entry {pem, passphrase}).
struct KeyPem {
  std::string pem;
  std::optional<std::string> passphrase;  // default: SecureOptions::passphrase
};

// A PKCS#12 bundle (node's `pfx` entry {buf, passphrase}).
struct Pfx {
  std::vector<std::uint8_t> data;         // DER
  std::optional<std::string> passphrase;  // default: SecureOptions::passphrase
};

// Options shared by listen and connect, with node:tls meanings.
struct SecureOptions {
  // When set, it supplies every field down to session_timeout (the context
  // part), and those fields here are not read (node's secureContext).
  SecureContext secure_context;
  std::string cert;        // PEM chain, leaf first
  std::string key;         // PEM private key
  std::string passphrase;  // for an encrypted key or pfx
  // node's `cert`/`key` arrays: more chains and keys beside cert/key, one per
  // key type (an RSA and an ECDSA certificate side by side). Keys are matched
  // to chains by public key, in any order.
  std::vector<std::string> extra_certs;
  std::vector<KeyPem> extra_keys;
  std::vector<Pfx> pfx;          // PKCS#12 bundles, each a chain with its key
  std::vector<std::string> ca;   // PEM; empty: the system trust store
  std::vector<std::string> crl;  // PEM CRLs; every chain certificate checked
  // "DTLSv1.2" (default, kDefaultMinVersion/kDefaultMaxVersion) or "DTLSv1"
  // (only when asked for, and with "@SECLEVEL=0" ciphers on OpenSSL 3);
  // "DTLSv1.3" is ERR_DTLS_VERSION_UNSUPPORTED with OpenSSL 3.0.
  std::string min_version{kDefaultMinVersion};
  std::string max_version{kDefaultMaxVersion};
  std::string ciphers;  // empty: kDefaultCiphers (no PSK suites)
  std::string ecdh_curve{kDefaultEcdhCurve};  // "auto" or "P-384:P-256"...
  // The server's cipher order wins (node: true for listen, unset otherwise).
  std::optional<bool> honor_cipher_order;
  std::string sig_algs;  // "ECDSA+SHA256:RSA-PSS+SHA256"; empty: OpenSSL's
  std::string dhparam;   // "auto", PEM DH parameters, or "" (no DHE suites)
  // RFC 5077 tickets (node's default: on). Pinned (fingerprints) sessions
  // never use them.
  bool session_tickets = true;
  std::vector<std::uint8_t> ticket_keys;      // 48 bytes; empty: random
  std::chrono::seconds session_timeout{300};  // how long a session resumes
  std::vector<std::string> alpn;
  std::string srtp;  // "SRTP_AES128_CM_SHA1_80:SRTP_AEAD_AES_128_GCM"
  bool require_srtp = false;
  bool reject_unauthorized = true;
  // WebRTC pinning: SDP a=fingerprint values ("sha-256 AB:CD:..."). When set,
  // the peer must match one, and CA checks are not made.
  std::vector<std::string> fingerprints;
  std::uint32_t mtu = 1200;
  std::chrono::milliseconds handshake_timeout{120000};
  // Handshake retransmission (RFC 6347 §4.2.4.1): a flight is sent again
  // after retransmit_initial (20 ms..60 s), doubling up to retransmit_max
  // (retransmit_initial..60 s). With adaptive_retransmit (the default), the
  // first timeout of each flight follows the round trip measured on earlier
  // ones, the cookie exchange included (RFC 6298 estimator, Karn's rule),
  // within [200 ms, retransmit_initial]; false keeps the fixed schedule.
  std::chrono::milliseconds retransmit_initial = RetransmitConfig{}.initial;
  std::chrono::milliseconds retransmit_max = RetransmitConfig{}.max;
  bool adaptive_retransmit = RetransmitConfig{}.adaptive;
  // With adaptive_retransmit: a round trip to the peer known beforehand (0:
  // none; up to 60 s), e.g. ICE's, or stats().smoothed_rtt of an earlier
  // session with the same peer. Even the first flight is then timed by it.
  std::chrono::milliseconds initial_rtt{0};
  // Ends an open session that received nothing (DTLS or SRTP) for this long
  // with ERR_DTLS_IDLE_TIMEOUT: a peer gone without close_notify. 0 (the
  // default): never. ICE sessions have consent freshness instead.
  std::chrono::milliseconds idle_timeout{0};
  // Inbound SRTP replay window in packets (64..32768).
  size_t srtp_replay_window = 1024;
  // When the kernel pushes back (EAGAIN), datagrams wait in the socket's
  // queue, at most this many (1..1048576); past it media sends fail with
  // ERR_SEND_QUEUE_FULL until on_drain.
  size_t send_queue_limit = 4096;
  // Every datagram goes through that queue, as if the kernel always pushed
  // back: loopback never does, so this is how an application tests its
  // backpressure handling (ERR_SEND_QUEUE_FULL, on_drain).
  bool always_queue_sends = false;
  // The socket's SO_RCVBUF and SO_SNDBUF in bytes (node dgram's
  // recvBufferSize and sendBufferSize; at most 1073741823). 0 keeps the
  // kernel's default; Linux caps them at net.core.rmem_max / wmem_max. A
  // server taking media flat out loses bursts a default buffer cannot hold.
  size_t recv_buffer_size = 0;
  size_t send_buffer_size = 0;
  // UDP GSO for batched (corked) sends and UDP GRO for receives: a run of
  // datagrams crosses the kernel once. Either turns itself off where the
  // kernel or the route cannot; false keeps one datagram per system-call
  // message both ways.
  bool udp_offload = true;
};

struct ListenOptions : SecureOptions {
  // TLS-PSK (RFC 4279): the key for a client's identity, nullopt for an
  // unknown one (node's pskCallback). With it, no certificate is needed; the
  // ciphers must name PSK suites (e.g. "PSK-AES128-GCM-SHA256").
  std::function<std::optional<std::vector<std::uint8_t>>(
      std::string_view identity)>
      psk_callback;
  std::string psk_identity_hint;  // at most 128 bytes
  // node's SNICallback: the context for the name a client asks for. An empty
  // SecureContext keeps ours; an error refuses the handshake
  // (unrecognized_name).
  std::function<Result<SecureContext>(std::string_view servername)>
      sni_callback;
  std::string host = "0.0.0.0";
  std::optional<std::uint16_t> port;  // required; 0 picks a free port
  bool request_cert = false;
  size_t max_sessions = 10000;
  // Half-open handshakes: a peer that answered our cookie and then sent
  // nothing of its next flight. At most max_half_open_per_address from one IP
  // address (any port) and max_half_open in all. At either bound, or at
  // max_sessions, a new valid hello replaces the oldest half-open one that
  // has had half_open_grace to progress (it ends with
  // ERR_DTLS_HANDSHAKE_EVICTED); when none has, the hello is refused and its
  // client retransmits it. One that does not progress within
  // half_open_timeout ends with ERR_DTLS_HANDSHAKE_TIMEOUT (handshake_timeout
  // still bounds the whole handshake). ERR_OUT_OF_RANGE outside 1..65535,
  // 1..1000000, 100 ms..1 h, 0..half_open_timeout.
  size_t max_half_open_per_address = HalfOpenLimits{}.per_address;
  size_t max_half_open = HalfOpenLimits{}.total;
  std::chrono::milliseconds half_open_timeout = HalfOpenLimits{}.timeout;
  std::chrono::milliseconds half_open_grace = HalfOpenLimits{}.grace;
  // Several endpoints on one port, one per worker loop (SO_REUSEPORT; every
  // one of them must set it). The kernel keeps each peer on one endpoint.
  bool reuse_port = false;
  // 32 bytes shared by the workers of one port, so that each accepts the
  // cookies the others issue (RFC 6347 §4.2.1); empty: a random secret.
  std::vector<std::uint8_t> cookie_secret;
  // WebRTC: an ICE-lite endpoint (RFC 8445 §2.5). Peers are added with
  // Endpoint::add_ice_session from their SDP; STUN checks are answered for
  // them, and DTLS and SRTP are accepted only from addresses that passed a
  // check. on_session is not called for ICE sessions (add_ice_session
  // returns their Session).
  bool ice_lite = false;
};

// One WebRTC peer of an ICE-lite endpoint, from the offer/answer exchange.
struct IceSessionConfig {
  // Our a=ice-ufrag / a=ice-pwd; an empty ufrag gets fresh random ones
  // (Session::ice_credentials() tells them, for the answer).
  IceCredentials local;
  std::string remote_ufrag;  // the peer's a=ice-ufrag; empty accepts any
  // The peer's a=fingerprint values ("sha-256 AB:CD:..."); at least one.
  std::vector<std::string> fingerprints;
  // Our a=setup:active: we send the ClientHello after the first check.
  // Otherwise passive: the peer does.
  bool dtls_client = false;
  // RFC 7675: without a valid check for this long the session ends with
  // ERR_ICE_CONSENT_EXPIRED.
  std::chrono::milliseconds consent_timeout{30000};
};

struct ConnectOptions : SecureOptions {
  // An IP address (a name is not resolved for binding).
  std::string bind_host = "0.0.0.0";
  std::uint16_t bind_port = 0;
  std::string
      servername;  // host name to check the certificate against (default: host)
  // Resume this session (a blob from on_session or Session::session()).
  std::vector<std::uint8_t> session;
  // TLS-PSK: the identity and key for the server's hint ("" when none);
  // nullopt abandons the handshake (node's pskCallback).
  std::function<std::optional<AssociationOptions::PskIdentity>(
      std::string_view hint)>
      psk_callback;
};

// The equivalent of node's permission model for the network: when not allowed,
// listen and connect fail with ERR_ACCESS_DENIED; building options or handles
// does no I/O.
// Loads what a SecureContext holds from `options` (the fields listed at
// SecureOptions::secure_context), with the same errors as listen/connect.
Result<SecureContext> create_secure_context(const SecureOptions& options);

class NetworkPolicy {
 public:
  static void set_allowed(bool allowed);
  static bool allowed();
};

class Session {
 public:
  Session() = default;

  // One message after the handshake (ERR_DTLS_SESSION_NOT_OPEN before it).
  Result<size_t> send(std::span<const std::uint8_t> data);
  Result<size_t> send(std::string_view text);
  // Media (RFC 5764): protects one RTP/RTCP packet with the session's SRTP
  // keys and sends it; returns the bytes on the wire. The packet is not
  // modified. ERR_DTLS_SESSION_NOT_OPEN before the handshake,
  // ERR_DTLS_SESSION_DESTROYED after the end, ERR_SRTP_NOT_NEGOTIATED without
  // an SRTP profile, ERR_SRTP_MALFORMED / ERR_SRTP_TOO_SHORT for a packet that
  // is not RTP/RTCP.
  Result<size_t> send_rtp(std::span<const std::uint8_t> packet);
  Result<size_t> send_rtcp(std::span<const std::uint8_t> packet);
  // Send batching (sendmmsg): media sent between cork() and uncork() (they
  // nest) leaves in batches of up to 32 datagrams per system call, at the
  // last uncork() at the latest. It corks this session's socket: for a
  // server session, the endpoint's, shared with its other sessions (see
  // Endpoint::cork). Media forwarded from on_rtp/on_rtcp is batched without
  // asking, per receive batch.
  void cork();
  void uncork();
  // Backpressure: when the kernel pushes back, datagrams wait in a bounded
  // queue; past it send_rtp/send_rtcp drop the packet and return
  // ERR_SEND_QUEUE_FULL (counted in the endpoint's stats). `cb` runs on the
  // loop once that queue has emptied again (node's 'drain'): sending may
  // resume. The queue belongs to the session's socket, so for a server
  // session it fires when any session on the endpoint was refused.
  void on_drain(std::function<void()> cb);
  // Unprotected packets, on the loop thread; the span lives until the
  // callback returns. Packets that fail to unprotect are counted in
  // stats().media and never delivered.
  void on_rtp(std::function<void(std::span<const std::uint8_t>)> cb);
  void on_rtcp(std::function<void(std::span<const std::uint8_t>)> cb);
  // For applications that run their own SRTP: the negotiated profile's master
  // keys and salts, split (RFC 5764 §4.2), and which side we are.
  Result<srtp::SrtpKeys> srtp_keys() const;
  srtp::Side srtp_side() const;

  void close();  // close_notify
  // No alert. With an error, the session ends with it: on_error is called,
  // a pending opened() fails with it and closed() resolves with it.
  void destroy(std::optional<Error> error = std::nullopt);

  void on_message(std::function<void(std::span<const std::uint8_t>)> cb);
  void on_error(std::function<void(const Error&)> cb);
  void on_handshake(std::function<void(const std::string& protocol)> cb);
  void on_keylog(std::function<void(std::string_view line)> cb);
  // Also as callbacks on the loop (called at once if already settled).
  void on_opened(std::function<void(const Result<std::string>&)> cb);
  void on_closed(std::function<void(const Status&)> cb);

  // Resolves with the protocol ("DTLSv1.2") or the error that ended the
  // handshake.
  std::shared_future<Result<std::string>> opened() const;
  // Resolves when the session has ended: OK after a close (ours or the
  // peer's close_notify) or destroy(); the error when one ended it (a failed
  // handshake, destroy(error), an unreachable peer).
  std::shared_future<Status> closed() const;

  AddressInfo remote_address() const;
  // ICE sessions: our credentials (empty otherwise).
  IceCredentials ice_credentials() const;
  std::string protocol() const;
  std::optional<CipherInfo> cipher() const;
  std::optional<certs::Certificate> peer_certificate() const;
  std::string alpn_protocol() const;
  std::string srtp_profile() const;
  // ERR_DTLS_SESSION_DESTROYED once the session has ended.
  Result<std::vector<std::uint8_t>> export_keying_material(
      size_t length, std::string_view label,
      std::optional<std::span<const std::uint8_t>> context =
          std::nullopt) const;
  SessionStats stats() const;

  // node:tls TLSSocket extras.
  // Client: a resumable session (DER) once the handshake has made one (node's
  // 'session' event); pass it as ConnectOptions::session later.
  void on_session(std::function<void(std::span<const std::uint8_t>)> cb);
  bool is_session_reused() const;
  std::vector<std::uint8_t> session() const;     // getSession()
  std::vector<std::uint8_t> tls_ticket() const;  // client only
  std::vector<std::uint8_t> finished() const;    // RFC 5929 tls-unique
  std::vector<std::uint8_t> peer_finished() const;
  std::vector<std::string> shared_sigalgs() const;
  // Client only; nullopt on a server or before the handshake.
  std::optional<EphemeralKeyInfo> ephemeral_key_info() const;
  // CA mode: whether the peer's chain verified; pinning and PSK: true.
  bool authorized() const;
  std::string authorization_error() const;  // "" or node's code
  // 512..16384; false outside (node's setMaxSendFragment). Messages larger
  // than the fragment are refused with ERR_DTLS_MESSAGE_TOO_LARGE.
  bool set_max_send_fragment(size_t size);
  std::string servername() const;  // SNI: asked (server) or sent (client)
  std::optional<certs::Certificate> certificate() const;  // ours

  explicit operator bool() const { return core_ != nullptr; }

 private:
  friend struct detail::EndpointCore;
  friend class Endpoint;
  friend Result<Session> connect_on(uv_loop_t*, std::shared_ptr<LoopDispatcher>,
                                    std::string_view, std::uint16_t,
                                    ConnectOptions);
  std::shared_ptr<detail::SessionCore> core_;
  std::shared_ptr<void> owner_;  // connect(): closing on the last handle's drop
};

class Endpoint {
 public:
  Endpoint() = default;

  AddressInfo address() const;
  EndpointState state() const;
  EndpointStats stats() const;
  // node dgram's getRecvBufferSize / getSendBufferSize: SO_RCVBUF and
  // SO_SNDBUF as the kernel reports them (Linux: twice what it granted).
  // ERR_SOCKET_BUFFER_SIZE once the socket is closed.
  Result<int> recv_buffer_size() const;
  Result<int> send_buffer_size() const;
  void set_busy(bool busy);
  bool busy() const;
  // Send batching for every session on this endpoint's socket: an SFU corks
  // around the loop that sends one packet to many subscribers.
  void cork();
  void uncork();
  // The socket's send queue emptied after it was full (see
  // Session::on_drain); before any session's own callback.
  void on_drain(std::function<void()> cb);
  void close();
  // No alerts; with an error, every session ends with it (see
  // Session::destroy) and so does closed().
  void destroy(std::optional<Error> error = std::nullopt);
  std::shared_future<Status> closed() const;
  void on_closed(std::function<void(const Status&)> cb);
  // ICE-lite endpoints (ListenOptions::ice_lite): a WebRTC peer. The Session
  // comes back at once; it opens when the peer has passed a check and the
  // DTLS handshake completes, and ends with ERR_ICE_CONSENT_EXPIRED if no
  // check comes. ERR_INVALID_STATE on other endpoints, ERR_INVALID_ARG_VALUE
  // for bad credentials, ERR_SDP_FINGERPRINT_INVALID, ERR_ICE_UFRAG_IN_USE,
  // ERR_RANDOM when local credentials are to be generated and cannot be.
  Result<Session> add_ice_session(IceSessionConfig config);
  // node's server.setSecureContext: new handshakes use `context`; open
  // sessions keep theirs (certificate rotation without a restart).
  // ERR_INVALID_ARG_VALUE for an empty context or one without a certificate
  // (unless this endpoint serves PSK), ERR_INVALID_STATE once closed.
  Status set_secure_context(SecureContext context);
  // node's getTicketKeys / setTicketKeys (48 bytes), on the endpoint's current
  // context: tickets under the previous keys still resume once.
  std::vector<std::uint8_t> ticket_keys() const;
  Status set_ticket_keys(std::span<const std::uint8_t> keys);
  explicit operator bool() const { return core_ != nullptr; }

 private:
  friend Result<Endpoint> listen_on(uv_loop_t*, std::shared_ptr<LoopDispatcher>,
                                    std::function<void(Session)>,
                                    ListenOptions);
  Result<int> socket_buffer_size(bool receive) const;
  std::shared_ptr<detail::EndpointCore> core_;
  std::shared_ptr<void>
      owner_;  // closes gracefully when the last handle is dropped
};

Result<Endpoint> listen(uv_loop_t* loop,
                        std::function<void(Session)> on_session,
                        ListenOptions options);
// `host` is an IP address or a name. A name (even "localhost") is resolved on
// the loop
// (uv_getaddrinfo, IPv4 first): the Session comes back at once, and a name
// that does not resolve ends it with ERR_DTLS_HOST_NOT_FOUND (opened, closed,
// on_error). Every other error comes back here.
Result<Session> connect(uv_loop_t* loop, std::string_view host,
                        std::uint16_t port, ConnectOptions options);

// The same on a loop the library runs on its own thread; callable from any
// thread.
Result<Endpoint> listen(EventLoop& loop,
                        std::function<void(Session)> on_session,
                        ListenOptions options);
Result<Session> connect(EventLoop& loop, std::string_view host,
                        std::uint16_t port, ConnectOptions options);

// Implementation; a null dispatcher means the caller's loop.
Result<Endpoint> listen_on(uv_loop_t* loop,
                           std::shared_ptr<LoopDispatcher> dispatcher,
                           std::function<void(Session)> on_session,
                           ListenOptions options);
Result<Session> connect_on(uv_loop_t* loop,
                           std::shared_ptr<LoopDispatcher> dispatcher,
                           std::string_view host, std::uint16_t port,
                           ConnectOptions options);

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_API_H_
