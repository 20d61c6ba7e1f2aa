// The I/O layer: one libuv UDP socket under an EndpointCore.
//
// Socket and timer glue only: it reads batches of datagrams (recvmmsg, UDP
// GRO) and hands each to the core with one "now" per wakeup, sends what the
// core writes (straight to the kernel, in sendmmsg batches with UDP GSO while
// corked, or through libuv's bounded queue when the kernel pushes back), arms
// one timer at the core's next deadline, and turns ICMP errors on a connected
// socket into the end of its one session. Everything runs on the loop's
// thread. The node-style public API (listen/connect, Session, Endpoint
// handles) sits on top of this.
#ifndef DTLS_SRTP_TRANSPORT_IO_UDP_ENDPOINT_H_
#define DTLS_SRTP_TRANSPORT_IO_UDP_ENDPOINT_H_

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "srtp/srtp_context.h"
#include "transport/base/peer_address.h"
#include "transport/base/time.h"
#include "transport/dtls/dtls_association.h"
#include "transport/endpoint/demux.h"
#include "transport/endpoint/endpoint_core.h"
#include "transport/ice/ice_lite.h"
#include "transport/ice/ice_lite_table.h"
#include "transport/io/port_group.h"
#include "transport/io/receive_batch.h"
#include "transport/io/send_batch.h"

namespace dtls {

// The I/O layer's options beside the core's (EndpointCoreOptions).
struct UdpEndpointOptions : EndpointCoreOptions {
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
  // One member of a port shared across EventLoops (PortGroup): implies
  // reuse_port, takes the group's cookie secret (a different
  // cookie_master_secret is ERR_INVALID_ARG_VALUE), makes ICE ufrags unique
  // on the port, and hands a WebRTC peer's datagrams that land here to the
  // member owning its session. open() must run on an EventLoop's thread.
  std::shared_ptr<PortGroup> port_group;
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
};

// One set of counters for the core and the socket.
using UdpEndpointStats = EndpointCounters;

// SO_RCVBUF / SO_SNDBUF requests (node dgram's recvBufferSize /
// sendBufferSize): 0 (the kernel's default) or at most INT_MAX / 2 bytes.
// ERR_OUT_OF_RANGE names the option.
Status validate_socket_buffer_sizes(size_t receive, size_t send);

// max_queued_sends (the public send_queue_limit): 1..1048576 datagrams.
// Without a queue nothing would ever drain, and DTLS flights that meet
// EAGAIN would wait for a retransmission; the ceiling keeps a typo from
// letting a stalled socket hold gigabytes. ERR_OUT_OF_RANGE.
Status validate_send_queue_limit(size_t datagrams);

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
  // the packet's ERR_SRTP_* code when it cannot be protected. `rewrite`:
  // see EndpointCore::send_media.
  // `route`: the sender's MediaRoute for `peer` (EndpointCore::send_media).
  Result<size_t> send_media(const PeerAddress& peer, PacketKind kind,
                            std::span<const std::uint8_t> packet,
                            const RtpRewrite* rewrite = nullptr,
                            MediaRoute* route = nullptr);
  // EndpointCore::prefetch_media.
  static constexpr int kMediaPrefetchSteps = EndpointCore::kMediaPrefetchSteps;
  void prefetch_media(const MediaRoute& route, int step) const {
    core_.prefetch_media(route, step);
  }
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
  void set_busy(bool busy) { core_.set_busy(busy); }
  bool busy() const { return core_.busy(); }
  // node's server.setSecureContext: handshakes that start from now on use
  // `context`; sessions already open (or handshaking) keep theirs.
  void set_context(std::shared_ptr<const DtlsContext> context) {
    core_.set_context(context);
    options_.context = std::move(context);
  }
  const std::shared_ptr<const DtlsContext>& context() const {
    return options_.context;
  }
  const UdpEndpointOptions& options() const { return options_; }
  const PeerAddress& local_address() const { return local_; }
  uv_loop_t* loop() const { return udp_.loop; }
  size_t session_count() const { return core_.session_count(); }
  // Server handshakes accepted whose peer has not answered our first flight.
  size_t half_open_count() const { return core_.half_open_count(); }
  size_t deadline_count() const { return core_.deadline_count(); }
  bool closing() const { return core_.closing(); }
  const UdpEndpointStats& stats() const { return core_.stats(); }
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
  struct SendRequest;
  // What the core writes goes to the socket (or the batch) through this.
  class Output : public DatagramSink {
   public:
    explicit Output(UdpEndpoint& endpoint) : endpoint_(endpoint) {}
    int send(const PeerAddress& to,
             std::span<const std::uint8_t> data) override;
    std::span<std::uint8_t> media_buffer(size_t size) override;
    int send_media(const PeerAddress& to, size_t length) override;
    Status before_connect(const PeerAddress& peer) override;
    int forward(PortDirectory::Member to, const PeerAddress& from,
                std::span<const std::uint8_t> data) override;
    void flushed() override;
    std::string describe(int error) const override;

   private:
    UdpEndpoint& endpoint_;
    bool batched_ = false;  // the last media_buffer() is a batch slot
    // The other members' routes, as of the group's generation_ (a member
    // that left keeps its inbox alive here until the next lookup: it drops
    // what reaches it).
    std::vector<std::pair<PortDirectory::Member, PortGroup::Route>> routes_;
    std::uint64_t generation_ = ~std::uint64_t{0};
  };

  // Where other members of a shared port hand datagrams over: on this
  // endpoint's loop, one batch per wakeup, corked. It outlives the endpoint
  // in the group's queue slots, so it forgets the endpoint when that closes.
  class Inbox : public QueuedMediaTarget {
   public:
    explicit Inbox(UdpEndpoint* endpoint) : endpoint_(endpoint) {}
    void begin_queued() override;
    void send_queued(std::uint8_t tag, std::span<std::uint8_t> packet) override;
    void end_queued() override;
    void forget() { endpoint_ = nullptr; }

   private:
    UdpEndpoint* endpoint_;  // loop thread only
    TimePoint now_{};
  };

  UdpEndpoint(uv_loop_t* loop, UdpEndpointOptions options, Callbacks callbacks);
  static EndpointCore::Callbacks core_callbacks(Callbacks& callbacks);
  void on_datagram(std::span<std::uint8_t> data, const sockaddr* from,
                   TimePoint now);
  // Arms the timer at the core's next deadline, when it moved (the clock is
  // read only then: this runs after every packet sent).
  void rearm();
  void on_timer();
  // 0, UV_ENOBUFS when the send queue is full (dropped), or the socket error.
  int send_datagram(const PeerAddress& to, std::span<const std::uint8_t> data);
  void release_handles();
  void release_when_flushed();
  void on_socket_error(int uv_error);
  // A send error that ends a connected client, acted on once the
  // association's output has been handed over.
  void handle_pending_socket_error();
  int send_queued(const sockaddr* to, std::span<const std::uint8_t> data);
  // Sends what the batch holds (sendmmsg; libuv's queue for what the kernel
  // pushes back, or for everything while that queue is not empty).
  void flush_batch();
  // Counts one datagram that left.
  void count_sent(size_t bytes) {
    io_stats().packets_sent++;
    io_stats().bytes_sent += bytes;
  }
  EndpointCounters& io_stats() { return core_.mutable_stats(); }
  // One datagram dropped because the send queue is full; on_drain follows
  // when it empties.
  void drop_for_full_queue() {
    io_stats().send_queue_drops++;
    drain_pending_ = true;
  }

  static void poll_cb(uv_poll_t* p, int status, int events);
  // Takes what waits on the socket, one ReceiveBatch at a time; -errno of a
  // descriptor that cannot be read any more, else 0.
  int read_socket();
  static void timer_cb(uv_timer_t* t);
  static void close_cb(uv_handle_t* h);
  static void send_cb(uv_udp_send_t* req, int status);
  static void flush_timeout_cb(uv_timer_t* t);

  uv_loop_t* loop_;
  UdpEndpointOptions options_;
  // on_closed and on_drain; the core has the others.
  Callbacks callbacks_;
  Output output_{*this};
  EndpointCore core_;
  // Sends go through libuv's handle (its send queue for what the kernel
  // pushes back). Receives do not: libuv's recvmmsg reads no control data,
  // so no UDP GRO. A poll handle on a duplicate of the descriptor says when
  // to read (a second watcher on the same descriptor would replace libuv's).
  uv_udp_t udp_{};
  uv_poll_t poll_{};
  int poll_fd_ = -1;
  uv_timer_t timer_{};              // the core's next deadline
  uv_timer_t flush_timer_{};        // close(): close_flush_timeout
  std::optional<TimePoint> armed_;  // what timer_ is set for
  int open_handles_ = 0;
  std::shared_ptr<UdpEndpoint> self_;  // held while libuv handles point at this
  PeerAddress local_;
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
  Bytes media_out_;                   // one packet being protected
  std::unique_ptr<SendBatch> batch_;  // made at the first corked send
  int corked_ = 0;
  bool released_ = false;  // uv_close called on the handles
  // Requests of datagrams that left libuv's send queue, kept for the next
  // ones: backpressure that lasts allocates nothing per datagram.
  std::vector<std::unique_ptr<SendRequest>> spare_requests_;
  bool flushing_ = false;       // close(): waiting for the send queue to empty
  bool drain_pending_ = false;  // a drop for a full queue, no on_drain yet
  std::optional<PeerAddress> connected_;  // connect_socket: the one peer
  int pending_socket_error_ = 0;  // seen while sending, handled once flushed
  bool heard_from_peer_ = false;  // connect_socket: any datagram from it
  int refusals_ = 0;              // ICMP unreachables before that
  std::shared_ptr<Inbox> inbox_;  // a member of a shared port
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_IO_UDP_ENDPOINT_H_
