// The endpoint core: everything one UDP port does for many peers, with no
// socket, clock or thread (sans-I/O, in the manner of ngtcp2).
//
// Input: datagrams with their source address and "now" (handle_datagram),
// API calls (connect, send, close, add_ice_session, ...; each takes "now"),
// and handle_timeout(now) once next_deadline() has passed. Output: datagrams
// with their destinations, written to the DatagramSink the I/O layer (or a
// simulated network) provides; events through Callbacks; next_deadline().
//
// It demultiplexes (RFC 7983), answers ClientHellos statelessly through a
// CookieGate, keys sessions by peer address, replaces a session whose peer
// restarted (RFC 6347 §4.2.8), refuses handshakes while busy or at
// max_sessions, bounds half-open handshakes (HalfOpenTable), rotates the
// cookie secret, routes SRTP/SRTCP (unprotected in place), and runs the
// ICE-lite sessions (IceLiteTable: checks, consent, early ClientHellos held
// and replayed).
#ifndef DTLS_SRTP_TRANSPORT_ENDPOINT_ENDPOINT_CORE_H_
#define DTLS_SRTP_TRANSPORT_ENDPOINT_ENDPOINT_CORE_H_

#include <array>
#include <cerrno>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "srtp/srtp_context.h"
#include "transport/base/deadline_queue.h"
#include "transport/base/peer_address.h"
#include "transport/base/time.h"
#include "transport/dtls/cookie_gate.h"
#include "transport/dtls/dtls_association.h"
#include "transport/endpoint/demux.h"
#include "transport/endpoint/forward_table.h"
#include "transport/endpoint/half_open_table.h"
#include "transport/endpoint/port_directory.h"
#include "transport/endpoint/rtp_rewrite.h"
#include "transport/endpoint/rtt_cache.h"
#include "transport/ice/ice_lite.h"
#include "transport/ice/ice_lite_table.h"

namespace dtls {

// What the endpoint does above the socket (the I/O layer's options add to
// these: UdpEndpointOptions).
struct EndpointCoreOptions {
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
  // Where the round trips of completed handshakes are kept, per peer host,
  // 10 minutes each (RttCache, RFC 8489 §6.2.1): a client handshake to a
  // host met before starts its adaptive timer from it, first flight
  // included (AssociationOptions::use_rtt_cache). Endpoints on one loop may
  // share one; null: the endpoint keeps its own.
  std::shared_ptr<RttCache> rtt_cache;
  // How often the cookie secret rotates (RFC 6347 §4.2.1 suggests changing it
  // frequently).
  std::chrono::milliseconds cookie_rotation{std::chrono::seconds(60)};
  // When set, the cookie secret of each rotation period is derived from this
  // master (CookieGate::derive_secret), so that every endpoint given the same
  // master accepts the others' cookies. Otherwise each has a random one.
  std::optional<std::array<std::uint8_t, CookieGate::kSecretSize>>
      cookie_master_secret;
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
  // One member of a port that several endpoints share, one per worker loop
  // (PortDirectory): ICE sessions are claimed in the directory, so a ufrag
  // is unique on the port, and the datagrams of a session another member
  // owns go to it (DatagramSink::forward) from the first authentic check on.
  // A forwarded address is forgotten forward_timeout after its last check;
  // at most max_forwarded_addresses are remembered.
  std::shared_ptr<PortDirectory> port_directory;
  PortDirectory::Member port_member = 0;
  std::chrono::milliseconds forward_timeout{30000};
  size_t max_forwarded_addresses = 65536;
};

// One endpoint's counters. The core counts what it routes; the I/O layer
// counts what the socket does (sends, batches, queue, socket errors) in the
// same struct, so that an endpoint has one set of stats.
struct EndpointCounters {
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
  // A shared port (EndpointCoreOptions::port_directory): datagrams handed
  // to the member owning their session, those the hand-over refused (its
  // queue full, the member gone), and datagrams other members handed here.
  std::uint64_t forwarded = 0;
  std::uint64_t forward_drops = 0;
  std::uint64_t forwarded_in = 0;
  // Client handshakes that started from a round trip this endpoint measured
  // with the same host before (RttCache), instead of the initial timeout.
  std::uint64_t cached_rtt_connects = 0;
  // Open sessions that let OpenSSL go and kept only their record keys
  // (AssociationOptions::release_after_handshake), counted once each.
  std::uint64_t sessions_released = 0;
};

// Where the core's datagrams go: a socket (UdpEndpoint) or a simulated
// network. Results are 0 or a negative errno value; kSendQueueFull means the
// datagram was dropped because the sender's queue is full.
class DatagramSink {
 public:
  static constexpr int kSendQueueFull = -ENOBUFS;

  virtual ~DatagramSink() = default;
  // One datagram (DTLS, STUN, or media outside a batch) to `to`. `data` lives
  // until the call returns.
  virtual int send(const PeerAddress& to,
                   std::span<const std::uint8_t> data) = 0;
  // Room to protect one media packet of `size` bytes (trailer included) in,
  // so that it is copied once and not allocated: the next slot of a send
  // batch, or one reusable buffer. Empty when the packet cannot be taken now
  // (the send queue is full; the sink has counted the drop).
  virtual std::span<std::uint8_t> media_buffer(size_t size) = 0;
  // Sends the first `length` bytes of the last media_buffer() to `to`.
  virtual int send_media(const PeerAddress& to, size_t length) = 0;
  // connect() has made the association to `peer`; nothing has been sent to
  // it yet. An error fails the connect.
  virtual Status before_connect(const PeerAddress& peer);
  // A shared port: `data`, from `from`, to the member `to`, which handles it
  // as EndpointCore::handle_forwarded. 0, or a negative errno value when it
  // was dropped.
  virtual int forward(PortDirectory::Member to, const PeerAddress& from,
                      std::span<const std::uint8_t> data);
  // One association's output has been handed over (after each of its steps):
  // the sink may act on send errors it saw meanwhile (calling back in).
  virtual void flushed() {}
  // A person's words for a send error.
  virtual std::string describe(int error) const;
};

// Where a sender found its session last time, so that a packet skips the
// lookup by address (a hash and two cache misses, the most of what a fan-out
// to a thousand subscribers pays per subscriber beyond the crypto). Valid
// while no session of that core has been removed since; then looked up again.
struct MediaRoute {
  const void* core = nullptr;
  const void* session = nullptr;  // the core's map entry: key and session
  std::uint64_t removals = 0;
};

class EndpointCore {
 public:
  // Callbacks run inside the core's calls and may call back in (send,
  // connect, close, destroy).
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
    // One unprotected RTP or RTCP packet (kind kRtp/kRtcp) from a session; the
    // span lives until the callback returns.
    std::function<void(const PeerAddress&, PacketKind,
                       std::span<const std::uint8_t>)>
        on_media;
    // ICE-lite sessions, by local ufrag. After kSessionStarted the session's
    // DTLS events come through on_event keyed by that address.
    std::function<void(const std::string&, const IceEvent&)> on_ice;
  };

  // The largest media packet send_media takes (before its SRTP trailer).
  static constexpr size_t kMaxMediaPacket = 65536;

  // `sink` outlives the core. `now` starts the cookie rotation.
  EndpointCore(EndpointCoreOptions options, Callbacks callbacks,
               DatagramSink& sink, TimePoint now);
  EndpointCore(const EndpointCore&) = delete;
  EndpointCore& operator=(const EndpointCore&) = delete;
  ~EndpointCore();

  // One datagram from `from` (its bytes may be changed: media is unprotected
  // in place). False when it is not one of ours (RFC 7983), the endpoint is
  // closing or `from` is empty.
  bool handle_datagram(std::span<std::uint8_t> data, const PeerAddress& from,
                       TimePoint now);
  // A datagram another member of a shared port received and handed here
  // (DatagramSink::forward): handled as handle_datagram does, counted in
  // forwarded_in rather than as received, and never handed on again.
  bool handle_forwarded(std::span<std::uint8_t> data, const PeerAddress& from,
                        TimePoint now);
  // Runs every deadline that has passed at `now`.
  void handle_timeout(TimePoint now);
  // When handle_timeout should run next.
  std::optional<TimePoint> next_deadline() const { return deadlines_.next(); }
  // Sessions taken out, ever: a call that leaves it as it was ended none.
  std::uint64_t removals() const { return removals_; }

  // Starts a client association to `peer`. ERR_INVALID_STATE when closing;
  // ERR_DTLS_SESSION_EXISTS when one to that address exists.
  Status connect(const PeerAddress& peer, AssociationOptions options,
                 TimePoint now);
  // One application message to `peer`'s association.
  Result<size_t> send(const PeerAddress& peer,
                      std::span<const std::uint8_t> message, TimePoint now);
  // Protects one RTP (kind kRtp) or RTCP (kRtcp) packet for `peer` and sends
  // it; returns the bytes put on the wire. ERR_DTLS_SESSION_NOT_OPEN before the
  // handshake completes, ERR_SRTP_NOT_NEGOTIATED without an SRTP profile, the
  // packet's ERR_SRTP_* code when it cannot be protected, ERR_SEND_QUEUE_FULL
  // or ERR_SOCKET_SEND when the sink refuses it. (No deadline follows from a
  // packet sent today; `now` keeps the call like every other.) With
  // `rewrite`, an RTP packet's copy is rewritten before it is protected
  // (ERR_SRTP_MALFORMED when it has no whole RTP header).
  // `route`, when given, is the sender's MediaRoute for `peer`.
  Result<size_t> send_media(const PeerAddress& peer, PacketKind kind,
                            std::span<const std::uint8_t> packet, TimePoint now,
                            const RtpRewrite* rewrite = nullptr,
                            MediaRoute* route = nullptr);
  // What send_media() through `route` will read, fetched ahead by a fan-out
  // while earlier subscribers' packets are protected, one hop per step (see
  // SrtpContext::prefetch_protect_rtp): step 0 fetches the session's node,
  // the next ones its SRTP context's. Nothing when the route is not this
  // core's or is stale: then the send looks it up again anyway.
  static constexpr int kMediaPrefetchSteps =
      1 + srtp::SrtpContext::kProtectPrefetchSteps;
  void prefetch_media(const MediaRoute& route, int step) const;
  // close_notify to one session (it is removed once closed).
  void close_session(const PeerAddress& peer, TimePoint now);
  // Drops one session without an alert. With an error, the session's last
  // event is a kError carrying it.
  void destroy_session(const PeerAddress& peer,
                       std::optional<Error> error = std::nullopt);
  // close_notify to every session; nothing is taken from then on.
  void close(TimePoint now);
  // Drops every session without alerts; with an error, each ends with it.
  void destroy(std::optional<Error> error = std::nullopt);

  // ICE-lite endpoints: a WebRTC session known by its local ufrag.
  // ERR_INVALID_STATE on other endpoints or when closing,
  // ERR_INVALID_ARG_VALUE for bad credentials or association options,
  // ERR_ICE_UFRAG_IN_USE when the ufrag is taken (on a shared port: by any
  // member).
  Status add_ice_session(IceSessionOptions options, TimePoint now);
  // Ends it: close_notify when its DTLS session exists, else silently.
  void remove_ice_session(const std::string& ufrag, TimePoint now);
  // The ICE state of a session (null when unknown).
  const IceLiteResponder* ice_responder(const std::string& ufrag) const;
  // Where the session's datagrams go: the nominated address, else `key`.
  PeerAddress remote_of(const PeerAddress& key) const;

  DtlsAssociation* association(const PeerAddress& peer);
  // The session's media counters (null before its SRTP keys exist).
  const srtp::MediaCounters* media_counters(const PeerAddress& peer);
  // The session's SRTP context (null before its keys exist).
  srtp::SrtpContext* srtp_context(const PeerAddress& peer);

  // While busy, new handshakes are refused and counted.
  void set_busy(bool busy) { busy_ = busy; }
  bool busy() const { return busy_; }
  // Handshakes that start from now on use `context`; sessions already open
  // (or handshaking) keep theirs.
  void set_context(std::shared_ptr<const DtlsContext> context) {
    options_.context = std::move(context);
  }
  const EndpointCoreOptions& options() const { return options_; }
  size_t session_count() const { return sessions_.size(); }
  // Server handshakes accepted whose peer has not answered our first flight.
  size_t half_open_count() const { return half_open_.size(); }
  // Deadlines pending: one per session that has one, the half-open table's,
  // the ICE table's and the cookie rotation's. The endpoint's one timer
  // serves them all.
  size_t deadline_count() const { return deadlines_.size(); }
  // Peer addresses whose datagrams go to another member of the port.
  size_t forwarded_addresses() const { return forwards_.size(); }
  bool closing() const { return closing_; }
  const EndpointCounters& stats() const { return stats_; }
  // For the I/O layer's own counters.
  EndpointCounters& mutable_stats() { return stats_; }

 private:
  using IceSession = IceLiteTable::Session;
  struct Session {
    Session(DeadlineQueue::Id i, std::unique_ptr<DtlsAssociation> a)
        : association(std::move(a)), id(i) {}
    // What every media send reads comes first, right after the key (the
    // address it sends to): a fan-out reads the node's first lines of each
    // subscriber (two: nodes are 16-byte aligned and the key takes 48
    // bytes), and not the association too.
    std::unique_ptr<srtp::SrtpContext> srtp;
    IceSession* ice = nullptr;  // an ICE-lite session's association
    // The association's state() == kOpen as after() last saw it. Nothing
    // else changes the state between a call into the association and the
    // after() that follows it.
    bool open = false;
    std::unique_ptr<DtlsAssociation> association;
    DeadlineQueue::Id id;
    std::optional<Error> srtp_error;  // keys could not be set up
    // The association's handshake_steps() when last seen (half-open clock).
    std::uint64_t steps_seen = 0;
  };

  bool dispatch(std::span<std::uint8_t> data, PacketKind kind,
                const PeerAddress& from, TimePoint now);
  void on_dtls(std::span<const std::uint8_t> data, const PeerAddress& peer,
               TimePoint now);
  void on_ice_dtls(std::span<const std::uint8_t> data, const PeerAddress& peer,
                   TimePoint now);
  void on_stun(std::span<const std::uint8_t> data, const PeerAddress& peer,
               TimePoint now);
  void on_media(std::span<std::uint8_t> data, PacketKind kind,
                const PeerAddress& peer, TimePoint now);
  // The session a datagram from `from` belongs to (ICE: any valid address of
  // it), with its key. Null too when `from` is handed over to another member
  // of the port: then `*handed` is its entry (one lookup for both).
  Session* route(const PeerAddress& from, PeerAddress& key,
                 const ForwardTable::Entry** handed);
  const PeerAddress& destination(const PeerAddress& key,
                                 const Session& s) const;
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
  // A shared port: an authentic check for a session `owner` has goes to it,
  // with the ClientHellos held from its address, and so does what follows
  // from that address.
  void forward_check(PortDirectory::Member owner, std::string_view ufrag,
                     std::span<const std::uint8_t> data,
                     const PeerAddress& from, TimePoint now);
  // Whether `from` stays with the session another member's entry names (it
  // still exists there): a check for another session, ours or theirs, then
  // takes nothing.
  bool forwarded_elsewhere(const PeerAddress& from) const;
  void forward(PortDirectory::Member to, std::span<const std::uint8_t> data,
               const PeerAddress& from);
  // The directory's claim of an ICE session's ufrag, given back.
  void release_ufrag(const std::string& ufrag);
  void expire_consent(TimePoint now);
  void forget_ice(IceSession* ice);
  void ice_event(IceSession& ice, IceEvent event);
  void rotate_cookie(TimePoint now);
  std::uint64_t cookie_period(TimePoint now) const;
  Duration rotation_interval() const;
  void start_srtp(Session& s);
  void finished(const PeerAddress& peer, const Session& s);
  // Flushes one association: its datagrams to the sink, its events to the
  // callback, its deadline to the queue; and forgets it once it has finished.
  void after(const PeerAddress& peer, TimePoint now);
  void send_datagram(const PeerAddress& to,
                     std::span<const std::uint8_t> data) {
    sink_.send(to, data);
  }
  // Ends a session whose SRTP context reached a key's hard limit.
  void end_for_key_limit(const PeerAddress& peer);
  Session* find(const PeerAddress& peer);
  // The map's entry for `peer` through a sender's MediaRoute, with its key:
  // the one the session's node holds, read with the session, not the
  // sender's copy.
  using Entry = std::pair<const PeerAddress, Session>;
  Entry* find(const PeerAddress& peer, MediaRoute* route);
  // Removals from sessions_ go through here, destroy_session() or destroy(),
  // and each moves removals_ (MediaRoute's validity).
  void erase_session(const PeerAddress& peer);
  Session& add(const PeerAddress& peer, std::unique_ptr<DtlsAssociation> a);

  EndpointCoreOptions options_;
  Callbacks callbacks_;
  DatagramSink& sink_;
  // Listening (or ICE-lite) endpoints only: a connecting one never answers a
  // ClientHello, and a gate costs a random secret and its HMAC key.
  std::optional<CookieGate> gate_;
  std::unordered_map<PeerAddress, Session, PeerAddressHash> sessions_;
  std::uint64_t removals_ = 0;  // sessions taken out of sessions_, ever
  std::unordered_map<DeadlineQueue::Id, PeerAddress> by_id_;
  IceLiteTable ice_;
  DeadlineQueue deadlines_;
  DeadlineQueue::Id next_id_ = 1;
  // The entries of deadlines_ that are not sessions: the half-open table's
  // oldest entry, the ICE table's earliest consent, the cookie rotation, the
  // forward table's oldest entry.
  DeadlineQueue::Id half_open_id_;
  DeadlineQueue::Id consent_id_;
  DeadlineQueue::Id rotation_id_;
  DeadlineQueue::Id forward_id_;
  HalfOpenTable half_open_;
  ForwardTable forwards_;
  std::shared_ptr<RttCache> rtt_cache_;  // never null
  // Inside handle_forwarded: nothing is handed on again, so that members
  // whose views of the directory differ for a moment cannot pass a datagram
  // back and forth.
  bool forwarded_in_ = false;
  std::vector<std::uint8_t> out_;
  std::uint64_t cookie_period_ = 0;  // with a master secret: the current one
  bool busy_ = false;
  bool closing_ = false;
  EndpointCounters stats_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_ENDPOINT_ENDPOINT_CORE_H_
