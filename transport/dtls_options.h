// The options of the public API (transport/dtls_api.h), node:tls and
// node:dtls meanings in C++ style: what listen, connect,
// create_secure_context and Endpoint::add_ice_session take. Their
// translation into the layers below, with every check, is
// transport/option_translation.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_OPTIONS_H_
#define DTLS_SRTP_TRANSPORT_DTLS_OPTIONS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "srtp/srtp_context.h"
#include "transport/base/error.h"
#include "transport/dtls/dtls_association.h"
#include "transport/dtls/dtls_context.h"
#include "transport/endpoint/endpoint_core.h"
#include "transport/endpoint/half_open_table.h"
#include "transport/ice/ice_lite.h"
#include "transport/ice/ice_lite_table.h"
#include "transport/io/port_group.h"
#include "transport/io/udp_endpoint.h"

namespace dtls {

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
  // PEM text, or the path of a file holding it (anything without a PEM
  // header is read as a path): cert, key, extra_certs, extra_keys, ca, crl.
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
  // The largest datagram sent, in UDP payload bytes (not the link's IP
  // MTU), 256..65535: handshake flights are fragmented to fit it. 1200 by
  // default, as WebRTC uses, which leaves room for IPv6 and TURN headers on
  // a 1280-byte path.
  std::uint32_t mtu = AssociationOptions{}.mtu;
  std::chrono::milliseconds handshake_timeout =
      AssociationOptions{}.handshake_timeout;
  // Handshake retransmission (RFC 6347 §4.2.4.1): a flight is sent again
  // after retransmit_initial, doubling up to retransmit_max (20 ms..60 s).
  // retransmit_initial is 20 ms..60 s, or 0 (the default): 400 ms when `srtp`
  // offers profiles (RFC 9147 §5.8.2 recommends it for DTLS-SRTP), 1 s
  // otherwise, capped at retransmit_max. With adaptive_retransmit (the
  // default), the first timeout of each flight follows the round trip
  // measured on earlier ones, the cookie exchange included (RFC 6298
  // estimator, Karn's rule), from 200 ms (or retransmit_initial when lower)
  // to the larger of retransmit_initial and 1 s; false keeps the fixed
  // schedule.
  std::chrono::milliseconds retransmit_initial =
      AssociationOptions{}.initial_retransmit_timeout;
  std::chrono::milliseconds retransmit_max = RetransmitConfig{}.max;
  bool adaptive_retransmit = RetransmitConfig{}.adaptive;
  // With adaptive_retransmit: a round trip to the peer known beforehand (0:
  // none; up to 60 s), e.g. ICE's, or stats().smoothed_rtt of an earlier
  // session with the same peer. Even the first flight is then timed by it.
  std::chrono::milliseconds initial_rtt = AssociationOptions{}.initial_rtt;
  // Client sessions, with adaptive_retransmit and no initial_rtt: start from
  // the round trip that a client handshake with the same host (IP address)
  // measured in the last 10 minutes (RFC 8489 §6.2.1), so that even a lost
  // first ClientHello is resent after a few round trips, never later than
  // retransmit_initial (stats().remembered_rtt). The memory is the loop's on
  // an EventLoop (every connect there shares it), else the endpoint's; it
  // holds 4,096 hosts and learns only from client handshakes that completed.
  // False: each connect starts as a first contact.
  bool use_rtt_cache = AssociationOptions{}.use_rtt_cache;
  // Ends an open session that received nothing (DTLS or SRTP) for this long
  // with ERR_DTLS_IDLE_TIMEOUT: a peer gone without close_notify. 0 (the
  // default): never, unless the session carries media (below). 1 ms..24 h.
  std::chrono::milliseconds idle_timeout = AssociationOptions{}.idle_timeout;
  // While idle_timeout is 0: ends a session whose peer sent SRTP/SRTCP and
  // then nothing for this long. Default 30 s: a live media peer sends RTCP
  // at least every 5 s (RFC 3550 §6.2). Counted from the first packet, so
  // sessions that never carry media are not ended by it; ICE sessions never
  // (consent freshness, RFC 7675, decides). A link that may fall silent
  // while alive (a cascade with no streams) sets 0 or keeps RTCP flowing.
  // 0: never.
  std::chrono::milliseconds media_idle_timeout =
      AssociationOptions{}.media_idle_timeout;
  // Inbound SRTP replay window in packets (64..32767).
  size_t srtp_replay_window = srtp::ContextOptions{}.replay_window;
  // When the kernel pushes back (EAGAIN), datagrams wait in the socket's
  // queue, at most this many (1..1048576); past it media sends fail with
  // ERR_SEND_QUEUE_FULL until on_drain.
  size_t send_queue_limit = UdpEndpointOptions{}.max_queued_sends;
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
  size_t max_sessions = EndpointCoreOptions{}.max_sessions;
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
  // The workers of one port for everything, ICE included: one listen() per
  // EventLoop, each given the same group (PortGroup::create()), which
  // implies reuse_port and the group's cookie secret (cookie_secret must
  // then be empty or the group's). The kernel brings each peer to one worker
  // by its address; a WebRTC peer whose session was added on another
  // worker (Endpoint::add_ice_session) is handed over to it from its first
  // authentic check on, DTLS and SRTP included, and the owner answers from
  // the same port. ICE ufrags are unique across the group. Counted in
  // stats().forwarded / forwarded_in / forward_drops. ERR_INVALID_ARG_VALUE
  // on a caller's uv_loop_t.
  std::shared_ptr<PortGroup> port_group;
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
  std::chrono::milliseconds consent_timeout =
      IceSessionOptions{}.consent_timeout;
};

struct ConnectOptions : SecureOptions {
  // An IP address (a name is not resolved for binding).
  std::string bind_host = "0.0.0.0";
  std::uint16_t bind_port = 0;
  std::string
      servername;  // host name to check the certificate against (default: host)
  // CA mode: node's checkServerIdentity(host, cert), called with servername
  // and the server's certificate once its chain has verified; an error
  // fails the handshake (and is authorization_error() with
  // reject_unauthorized false). Empty: certs::check_server_identity (RFC 6125
  // names and IP addresses, as node's default). Not called when pinning.
  std::function<Status(std::string_view host, const certs::PeerCertificate&)>
      check_server_identity;
  // Resume this session (a blob from on_session or Session::session()).
  std::vector<std::uint8_t> session;
  // TLS-PSK: the identity and key for the server's hint ("" when none);
  // nullopt abandons the handshake (node's pskCallback).
  std::function<std::optional<AssociationOptions::PskIdentity>(
      std::string_view hint)>
      psk_callback;
};

// Loads what a SecureContext holds from `options` (the fields listed at
// SecureOptions::secure_context), with the same errors as listen/connect.
Result<SecureContext> create_secure_context(const SecureOptions& options);

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_OPTIONS_H_
