// The I/O layer: one libuv UDP socket carrying many DTLS associations.
//
// Receives datagrams, demultiplexes them (RFC 7983), answers ClientHellos
// statelessly through a CookieGate, keys associations by peer address, drives
// every association's deadline from one uv_timer_t, and sends what the
// associations produce. Everything runs on the loop's thread. The node-style
// public API (listen/connect, Session, Endpoint handles) sits on top of this.
#ifndef DTLS_SRTP_TRANSPORT_UDP_ENDPOINT_H_
#define DTLS_SRTP_TRANSPORT_UDP_ENDPOINT_H_

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "srtp/srtp_context.h"
#include "transport/cookie_gate.h"
#include "transport/deadline_queue.h"
#include "transport/demux.h"
#include "transport/dtls_association.h"
#include "transport/half_open_table.h"
#include "transport/ice_lite.h"
#include "transport/peer_address.h"
#include "transport/receive_batch.h"
#include "transport/send_batch.h"

namespace dtls {

// One WebRTC peer on an ICE-lite endpoint (RFC 8445 §2.5): the credentials
// from the offer/answer, which side starts DTLS, and how its certificate is
// checked.
struct IceSessionOptions {
  IceCredentials local;      // our a=ice-ufrag / a=ice-pwd
  std::string remote_ufrag;  // the peer's a=ice-ufrag; empty accepts any
  // a=setup:active on our side (RFC 5763 §5): we send the ClientHello once a
  // check has succeeded. Otherwise (passive) the peer does.
  bool dtls_client = false;
  // Usually peer_fingerprints from the offer's a=fingerprint.
  AssociationOptions association;
  // RFC 7675 §5.1: the session ends (ERR_ICE_CONSENT_EXPIRED) when no valid
  // check has refreshed consent for this long; counted from creation until
  // the first check.
  std::chrono::milliseconds consent_timeout{30000};
  size_t max_addresses = 8;  // valid peer addresses remembered
};

struct IceEvent {
  enum class Type {
    kChecked,         // first valid check from `address`
    kNominated,       // `address` is the selected pair now (USE-CANDIDATE)
    kSessionStarted,  // the DTLS association exists, keyed by `address`
    kFailed,          // consent expired before any DTLS association (`error`)
  };
  Type type = Type::kChecked;
  PeerAddress address;
  Error error;
};

struct UdpEndpointOptions {
  std::shared_ptr<const DtlsContext> context;
  // For associations this endpoint accepts (server side).
  AssociationOptions server_association;
  // Accept ClientHellos from anyone (a listening endpoint). A client-only
  // endpoint drops them.
  bool accept_incoming = false;
  // New handshakes beyond this many sessions are refused (counted in
  // server_busy_count).
  size_t max_sessions = 10000;
  // Half-open handshakes (a valid cookie, then nothing of the peer's second
  // flight): bounded per source address and in total, and ended after
  // half_open.timeout; at a bound, or at max_sessions, a new valid hello
  // replaces the oldest half-open one past its grace, else it is refused
  // (HalfOpenTable).
  HalfOpenLimits half_open;
  // How often the cookie secret rotates (RFC 6347 §4.2.1 suggests changing it
  // frequently).
  std::chrono::milliseconds cookie_rotation{std::chrono::seconds(60)};
  // A client endpoint for one peer: the first connect() also connects the
  // socket, so the kernel drops datagrams from anyone else and an ICMP port
  // unreachable comes back as ECONNREFUSED (RFC 1122 §4.1.3.3: UDP must pass
  // ICMP errors up to the application). Two of them before the peer has ever
  // answered fail the handshake (one retransmission later, not 120 s later).
  bool connect_socket = false;
  // Every datagram goes through libuv's send queue instead of
  // uv_udp_try_send: the path taken when the kernel pushes back, forced (for
  // tests and for measuring the queued path).
  bool always_queue_sends = false;
  // At most this many datagrams wait in libuv's send queue (at least 1); past
  // it they are dropped, counted, and media sends fail with
  // ERR_SEND_QUEUE_FULL. Callbacks::on_drain says when it has emptied.
  size_t max_queued_sends = 4096;
  // SO_REUSEPORT: several endpoints (one per worker loop) bind one port and
  // the kernel spreads peers over them by address (a peer stays on one).
  bool reuse_port = false;
  // When set, the cookie secret of each rotation period is derived from this
  // master (CookieGate::derive_secret), so that every endpoint given the same
  // master accepts the others' cookies. Otherwise each has a random one.
  std::optional<std::array<std::uint8_t, CookieGate::kSecretSize>>
      cookie_master_secret;
  // Messages taken per receive system call (recvmmsg). Each costs 64 KiB of
  // receive buffer (resident only once a datagram lands there), so listening
  // endpoints batch and one-peer client endpoints do not.
  size_t receive_batch = 1;
  // UDP GSO: a corked batch's runs of datagrams to one destination leave as
  // one message each, cut back into datagrams by the kernel (SendBatch). It
  // turns itself off when the kernel or the route refuses it.
  bool segment_sends = true;
  // UDP GRO: the kernel may hand over a run of datagrams from one sender as
  // one message, which the endpoint cuts back into datagrams (ReceiveBatch).
  // Where the kernel has none, datagrams come one per message.
  bool coalesce_receives = true;
  // SO_RCVBUF and SO_SNDBUF in bytes (node dgram's recvBufferSize and
  // sendBufferSize); 0 keeps the kernel's default. Linux caps them at
  // net.core.rmem_max and wmem_max, and doubles them for its bookkeeping.
  size_t receive_buffer_size = 0;
  size_t send_buffer_size = 0;
  // How long close() waits for queued datagrams (close_notify alerts) to
  // leave before the socket is released anyway.
  std::chrono::milliseconds close_flush_timeout{1000};
  // Each session's SRTP contexts (made when its handshake completes with an
  // SRTP profile).
  srtp::ContextOptions srtp;
  // An ICE-lite endpoint (WebRTC): STUN checks are answered for the sessions
  // added with add_ice_session, and DTLS and SRTP are accepted only from
  // addresses that passed a check. A ClientHello that arrives before its
  // address's first check is held (ice_hold_time, at most ice_hold_datagrams
  // across all peers) and replayed once the check succeeds.
  bool ice_lite = false;
  std::chrono::milliseconds ice_hold_time{2000};
  size_t ice_hold_datagrams = 64;
};

struct UdpEndpointStats {
  std::uint64_t bytes_received = 0;
  std::uint64_t bytes_sent = 0;
  std::uint64_t packets_received = 0;
  std::uint64_t packets_sent = 0;
  std::uint64_t server_sessions = 0;
  std::uint64_t client_sessions = 0;
  std::uint64_t server_busy_count = 0;
  std::uint64_t hello_verify_requests = 0;
  // ClientHellos turned away because the cookie gate has no secret: the
  // random generator failed when it was made or rotated (fail closed).
  std::uint64_t cookie_refusals = 0;
  std::uint64_t send_errors = 0;
  std::uint64_t send_batches = 0;   // sendmmsg calls (corked sends)
  std::uint64_t receive_calls = 0;  // recvmmsg calls that returned data
  // Datagrams that arrived inside a coalesced message (UDP GRO).
  std::uint64_t datagrams_coalesced = 0;
  std::uint64_t sends_queued = 0;      // the kernel pushed back (EAGAIN)
  std::uint64_t send_queue_drops = 0;  // ... and the queue was full
  std::uint64_t socket_errors = 0;     // receive errors, e.g. ICMP unreachable
  // SRTP/SRTCP from an address with no session, or before its keys exist.
  std::uint64_t media_without_session = 0;
  std::uint64_t media_before_keys = 0;
  // RFC 6347 §4.2.8: established associations replaced by a new handshake
  // from the same address (after a valid cookie).
  std::uint64_t peer_restarts = 0;
  // STUN (ICE-lite endpoints): valid checks answered with success, requests
  // answered with an error (bad credentials, unknown ufrag, ...), messages
  // dropped (malformed, not requests, or a non-ICE endpoint).
  std::uint64_t stun_checks = 0;
  std::uint64_t stun_errors = 0;
  std::uint64_t stun_dropped = 0;
  // DTLS from addresses without a valid check: held, and of those replayed.
  std::uint64_t ice_held = 0;
  std::uint64_t ice_replayed = 0;
  std::uint64_t ice_consent_expired = 0;
  DemuxCounters demux;
  // DTLS records the sessions' record guards dropped, by reason (the sum of
  // every session's, those that ended included).
  RecordDropStats record_drops;
  // Half-open handshakes replaced by a newer valid hello
  // (ERR_DTLS_HANDSHAKE_EVICTED) and ended for not progressing within
  // half_open.timeout (ERR_DTLS_HANDSHAKE_TIMEOUT).
  std::uint64_t half_open_evicted = 0;
  std::uint64_t half_open_expired = 0;
  // Valid hellos refused because every half-open handshake in the way was
  // still within its grace (no state kept; the client retransmits).
  std::uint64_t half_open_refused = 0;
};

// SO_RCVBUF / SO_SNDBUF requests (node dgram's recvBufferSize /
// sendBufferSize): 0 (the kernel's default) or at most INT_MAX / 2 bytes.
// ERR_OUT_OF_RANGE names the option.
Status validate_socket_buffer_sizes(size_t receive, size_t send);

class UdpEndpoint {
 public:
  struct Callbacks {
    // An association this endpoint accepted (after a valid cookie).
    std::function<void(const PeerAddress&)> on_session;
    // Each event of each association. The association is removed after its
    // kClosed/kError.
    std::function<void(const PeerAddress&, const DtlsEvent&)> on_event;
    // An association that finished (closed or failed), right before it is
    // removed: the last chance to read its final stats.
    std::function<void(const PeerAddress&, const DtlsAssociation&,
                       const srtp::MediaCounters&)>
        on_finished;
    // The socket is released (after close() or destroy()).
    std::function<void()> on_closed;
    // One unprotected RTP or RTCP packet (kind kRtp/kRtcp) from a session; the
    // span lives until the callback returns.
    std::function<void(const PeerAddress&, PacketKind,
                       std::span<const std::uint8_t>)>
        on_media;
    // ICE-lite sessions, by local ufrag. After kSessionStarted the session's
    // DTLS events come through on_event keyed by that address.
    std::function<void(const std::string&, const IceEvent&)> on_ice;
    // The send queue has emptied after it was full (a datagram was dropped
    // for it, media refused with ERR_SEND_QUEUE_FULL): sending may resume.
    // Once per episode, never while closing.
    std::function<void()> on_drain;
  };

  // Binds a UDP socket on `loop` (the caller's loop; callbacks run on its
  // thread). The endpoint keeps itself alive until its libuv handles are
  // closed, so it is safe to drop the returned pointer at any time after
  // close()/destroy().
  static Result<std::shared_ptr<UdpEndpoint>> open(uv_loop_t* loop,
                                                   const PeerAddress& bind,
                                                   UdpEndpointOptions options,
                                                   Callbacks callbacks);
  ~UdpEndpoint();

  // Starts a client association to `peer`. ERR_INVALID_STATE when closing;
  // ERR_DTLS_SESSION_EXISTS when one to that address exists.
  Status connect(const PeerAddress& peer, AssociationOptions options);
  // One application message to `peer`'s association.
  Result<size_t> send(const PeerAddress& peer,
                      std::span<const std::uint8_t> message);
  // Protects one RTP (kind kRtp) or RTCP (kRtcp) packet for `peer` and sends
  // it; returns the bytes put on the wire. ERR_DTLS_SESSION_NOT_OPEN before the
  // handshake completes, ERR_SRTP_NOT_NEGOTIATED without an SRTP profile, and
  // the packet's ERR_SRTP_* code when it cannot be protected.
  Result<size_t> send_media(const PeerAddress& peer, PacketKind kind,
                            std::span<const std::uint8_t> packet);
  // The session's media counters (null before its SRTP keys exist).
  const srtp::MediaCounters* media_counters(const PeerAddress& peer);
  // The session's SRTP context (null before its keys exist).
  srtp::SrtpContext* srtp_context(const PeerAddress& peer);
  // close_notify to one session (it is removed once closed).
  void close_session(const PeerAddress& peer);
  // Drops one session without an alert. With an error, the session's last
  // event is a kError carrying it (node's session.destroy(error)).
  void destroy_session(const PeerAddress& peer,
                       std::optional<Error> error = std::nullopt);
  // The association for `peer`, or null.
  DtlsAssociation* association(const PeerAddress& peer);

  // ICE-lite endpoints: a WebRTC session known by its local ufrag.
  // ERR_INVALID_STATE on other endpoints or when closing,
  // ERR_INVALID_ARG_VALUE for bad credentials or association options,
  // ERR_ICE_UFRAG_IN_USE when the ufrag is taken.
  Status add_ice_session(IceSessionOptions options);
  // Ends it: close_notify when its DTLS session exists, else silently.
  void remove_ice_session(const std::string& ufrag);
  // The ICE state of a session (null when unknown).
  const IceLiteResponder* ice_responder(const std::string& ufrag) const;
  // Where the session's datagrams go: the nominated address, else `key`.
  PeerAddress remote_of(const PeerAddress& key) const;

  // close_notify to every session, then the socket is released (on_closed)
  // once the datagrams waiting in the send queue have left.
  void close();
  // Immediately, without alerts; with an error, every session ends with it.
  void destroy(std::optional<Error> error = std::nullopt);

  // Send batching (sendmmsg): between cork() and uncork() (they nest),
  // media packets are protected into a batch that leaves in one system call
  // when it holds SendBatch::kCapacity datagrams or at the last uncork(). An
  // SFU fanning one packet out to many sessions corks around the loop. While
  // one receive call hands over several datagrams, the endpoint is corked
  // too, so packets forwarded from on_media leave together. Other
  // datagrams (DTLS, STUN) flush the batch first, keeping the order. A send
  // the kernel refuses later is counted (send_errors, send_queue_drops), not
  // returned; ERR_SEND_QUEUE_FULL is returned while the queue is full.
  void cork() { ++corked_; }
  void uncork();
  bool corked() const { return corked_ > 0; }

  // While busy, new handshakes are refused and counted (node `endpoint.busy`).
  void set_busy(bool busy) { busy_ = busy; }
  bool busy() const { return busy_; }
  // node's server.setSecureContext: handshakes that start from now on use
  // `context`; sessions already open (or handshaking) keep theirs.
  void set_context(std::shared_ptr<const DtlsContext> context) {
    options_.context = std::move(context);
  }
  const std::shared_ptr<const DtlsContext>& context() const {
    return options_.context;
  }
  const UdpEndpointOptions& options() const { return options_; }
  const PeerAddress& local_address() const { return local_; }
  size_t session_count() const { return sessions_.size(); }
  // Server handshakes accepted whose peer has not answered our first flight.
  size_t half_open_count() const { return half_open_.size(); }
  bool closing() const { return closing_; }
  const UdpEndpointStats& stats() const { return stats_; }
  // Datagrams waiting in libuv's send queue (node dgram's
  // getSendQueueCount).
  size_t send_queue_count() const { return uv_udp_get_send_queue_count(&udp_); }
  // Whether one receive call takes several messages (receive_batch > 1).
  bool batched_receive() const { return receive_.capacity() > 1; }
  // The socket's SO_RCVBUF / SO_SNDBUF as the kernel reports them; -1 on
  // error.
  int receive_buffer_size() const;
  int send_buffer_size() const;
  // Whether the kernel agreed to coalesce received runs (UDP GRO).
  bool coalescing_receives() const { return coalescing_; }

 private:
  struct IceSession {
    IceSessionOptions options;
    IceLiteResponder responder;
    DeadlineQueue::Id consent_id = 0;
    TimePoint created{};
    std::optional<PeerAddress> key;  // of its DTLS association
  };
  struct Session {
    DeadlineQueue::Id id;
    std::unique_ptr<DtlsAssociation> association;
    std::unique_ptr<srtp::SrtpContext> srtp;
    std::optional<Error> srtp_error;  // keys could not be set up
    IceSession* ice = nullptr;        // an ICE-lite session's association
    // The association's handshake_steps() when last seen (half-open clock).
    std::uint64_t steps_seen = 0;
  };
  struct Held {
    PeerAddress from;
    TimePoint at;
    std::vector<std::uint8_t> data;
  };
  struct SendRequest;

  UdpEndpoint(uv_loop_t* loop, UdpEndpointOptions options, Callbacks callbacks);
  void on_datagram(std::span<std::uint8_t> data, const sockaddr* from);
  void on_dtls(std::span<const std::uint8_t> data, const PeerAddress& peer,
               TimePoint now);
  void on_ice_dtls(std::span<const std::uint8_t> data, const PeerAddress& peer,
                   TimePoint now);
  void on_stun(std::span<const std::uint8_t> data, const PeerAddress& peer,
               TimePoint now);
  // The session a datagram from `from` belongs to (ICE: any valid address of
  // it), with its key.
  Session* route(const PeerAddress& from, PeerAddress& key);
  const PeerAddress& destination(const PeerAddress& key,
                                 const Session& s) const;
  void hold(std::span<const std::uint8_t> data, const PeerAddress& from,
            TimePoint now);
  // The gate's kAccept decision, or nothing (answered or dropped).
  std::optional<CookieGate::Decision> check_cookie(
      std::span<const std::uint8_t> data, const PeerAddress& peer,
      TimePoint now);
  // A server association for `peer` from a hello whose cookie passed; null
  // when busy or the hello is malformed.
  Session* accept_hello(std::span<const std::uint8_t> data,
                        const CookieGate::Decision& admitted,
                        const PeerAddress& peer,
                        const AssociationOptions& options, TimePoint now);
  // Takes `peer` out of the half-open table (its handshake progressed or it
  // ended) and moves the table's deadline.
  void forget_half_open(const PeerAddress& peer);
  // Ends the half-open handshakes whose time is up.
  void expire_half_open(TimePoint now);
  void replay_held(const PeerAddress& from, TimePoint now);
  void check_consent(IceSession& ice, TimePoint now);
  void forget_ice(IceSession* ice);
  void ice_event(IceSession& ice, IceEvent event);
  void on_media(std::span<std::uint8_t> data, PacketKind kind,
                const PeerAddress& peer);
  void start_srtp(Session& s);
  void finished(const PeerAddress& peer, const Session& s);
  void after(const PeerAddress& peer);
  void on_timer();
  void rearm();
  // 0, UV_ENOBUFS when the send queue is full (dropped), or the socket error.
  int send_datagram(const PeerAddress& to, std::span<const std::uint8_t> data);
  void release_handles();
  void release_when_flushed();
  void on_socket_error(int uv_error);
  int send_queued(const sockaddr* to, std::span<const std::uint8_t> data);
  // Sends what the batch holds (sendmmsg; libuv's queue for what the kernel
  // pushes back, or for everything while that queue is not empty).
  void flush_batch();
  // Copies `packet` into `buffer` (room for the SRTP trailer) and protects
  // it there; the protected length.
  static Result<size_t> protect_into(Session& s, PacketKind kind,
                                     std::span<const std::uint8_t> packet,
                                     std::span<std::uint8_t> buffer);
  Result<size_t> send_media_corked(const PeerAddress& to, Session& s,
                                   PacketKind kind,
                                   std::span<const std::uint8_t> packet);
  // Ends a session whose SRTP context reached a key's hard limit.
  void end_for_key_limit(const PeerAddress& peer);
  // Counts one datagram that left.
  void count_sent(size_t bytes) {
    stats_.packets_sent++;
    stats_.bytes_sent += bytes;
  }
  // One datagram dropped because the send queue is full; on_drain follows
  // when it empties.
  void drop_for_full_queue() {
    stats_.send_queue_drops++;
    drain_pending_ = true;
  }
  Session* find(const PeerAddress& peer);
  Session& add(const PeerAddress& peer, std::unique_ptr<DtlsAssociation> a);

  static void poll_cb(uv_poll_t* p, int status, int events);
  // Takes what waits on the socket, one ReceiveBatch at a time; -errno of a
  // descriptor that cannot be read any more, else 0.
  int read_socket();
  static void timer_cb(uv_timer_t* t);
  static void rotate_cb(uv_timer_t* t);
  std::uint64_t cookie_period() const;
  static void close_cb(uv_handle_t* h);
  static void send_cb(uv_udp_send_t* req, int status);
  static void flush_timeout_cb(uv_timer_t* t);

  uv_loop_t* loop_;
  UdpEndpointOptions options_;
  Callbacks callbacks_;
  // Sends go through libuv's handle (its send queue for what the kernel
  // pushes back). Receives do not: libuv's recvmmsg reads no control data,
  // so no UDP GRO. A poll handle on a duplicate of the descriptor says when
  // to read (a second watcher on the same descriptor would replace libuv's).
  uv_udp_t udp_{};
  uv_poll_t poll_{};
  int poll_fd_ = -1;
  uv_timer_t timer_{};
  uv_timer_t rotate_timer_{};
  int open_handles_ = 0;
  std::shared_ptr<UdpEndpoint> self_;  // held while libuv handles point at this
  PeerAddress local_;
  // Listening (or ICE-lite) endpoints only: a connecting one never answers a
  // ClientHello, and a gate costs a random secret and its HMAC key.
  std::optional<CookieGate> gate_;
  std::unordered_map<PeerAddress, Session, PeerAddressHash> sessions_;
  std::unordered_map<DeadlineQueue::Id, PeerAddress> by_id_;
  std::unordered_map<std::string, std::unique_ptr<IceSession>> ice_sessions_;
  std::unordered_map<PeerAddress, IceSession*, PeerAddressHash> ice_by_address_;
  std::unordered_map<DeadlineQueue::Id, IceSession*> ice_by_id_;
  std::deque<Held> held_;
  DeadlineQueue deadlines_;
  DeadlineQueue::Id next_id_ = 1;
  HalfOpenTable half_open_;
  // The half-open table's entry in deadlines_ (its oldest entry's deadline).
  DeadlineQueue::Id half_open_id_ = 0;
  // Heap bytes left unzeroed: the kernel and libsrtp write them before
  // anything reads them. Zeroing them cost every connect 128 KiB of page
  // faults and kept all of it resident.
  struct Bytes {
    explicit Bytes(size_t n)
        : data(std::make_unique_for_overwrite<std::uint8_t[]>(n)), size(n) {}
    std::span<std::uint8_t> span() { return {data.get(), size}; }
    std::unique_ptr<std::uint8_t[]> data;
    size_t size;
  };
  ReceiveBatch receive_;
  bool coalescing_ = false;
  std::vector<std::uint8_t> out_;
  Bytes media_out_;                   // one packet being protected
  std::unique_ptr<SendBatch> batch_;  // made at the first corked send
  int corked_ = 0;
  std::uint64_t cookie_period_ = 0;  // with a master secret: the current one
  bool busy_ = false;
  bool closing_ = false;
  bool released_ = false;       // uv_close called on the handles
  bool flushing_ = false;       // close(): waiting for the send queue to empty
  bool drain_pending_ = false;  // a drop for a full queue, no on_drain yet
  std::optional<PeerAddress> connected_;  // connect_socket: the one peer
  int pending_socket_error_ = 0;  // seen while sending, handled in after()
  bool heard_from_peer_ = false;  // connect_socket: any datagram from it
  int refusals_ = 0;              // ICMP unreachables before that
  UdpEndpointStats stats_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_UDP_ENDPOINT_H_
