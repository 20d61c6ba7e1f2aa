// What the public handles (transport/dtls_api.h) stand for: a Session or
// Endpoint handle holds a shared_ptr to a SessionImpl or EndpointImpl, which
// live on the loop thread and turn the UDP endpoint's callbacks into the
// API's events, results and stats. Private to //transport:dtls_api.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_API_IMPL_H_
#define DTLS_SRTP_TRANSPORT_DTLS_API_IMPL_H_

#include <uv.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "transport/dtls_api.h"
#include "transport/eventual.h"
#include "transport/io/udp_endpoint.h"
#include "transport/option_translation.h"

namespace dtls::detail {

// Session and endpoint ids: unique in the process, never 0 (an empty
// handle's), any thread.
std::uint64_t next_handle_id();

// What a session reports through; Session's setters replace them one by one.
struct SessionCallbacks {
  std::function<void(std::span<const std::uint8_t>)> on_message;
  std::function<void(const Error&)> on_error;
  std::function<void(const std::string&)> on_handshake;
  std::function<void(std::string_view)> on_keylog;
  std::function<void(std::span<const std::uint8_t>)> on_rtp;
  std::function<void(std::span<const std::uint8_t>)> on_rtcp;
  std::function<void()> on_drain;
  std::function<void(std::span<const std::uint8_t>)> on_session;
};

struct SessionImpl : QueuedMediaTarget {
  SessionImpl(std::weak_ptr<EndpointImpl> ep, PeerAddress p,
              std::shared_ptr<LoopDispatcher> d)
      : dispatcher(std::move(d)), endpoint(std::move(ep)), peer(std::move(p)) {}

  // What a fan-out reads of each subscriber: one cache line (58 bytes from
  // a 64-byte boundary), since a thousand subscribers' lines do not stay in
  // cache from one packet to the next. `peer` is not among them: while the
  // route holds, the endpoint core reads its own copy of the address beside
  // the session; after a session of the endpoint has gone, the next send
  // looks the route up again by `peer`.
  // Null: the caller's loop.
  alignas(64) const std::shared_ptr<LoopDispatcher> dispatcher;
  const std::weak_ptr<EndpointImpl> endpoint;
  // Where the endpoint core keeps this session (loop thread only): media
  // sends skip the lookup by address.
  MediaRoute route;
  bool resolving = false;
  bool ended = false;
  PeerAddress peer;  // empty while the host name is being resolved

  // What sends from other threads read without the loop: set on the loop
  // when the handshake completes (the trailers first, then the state, with
  // release) and when the session ends.
  enum CrossState : int { kNotOpen, kOpen, kEnded };
  std::atomic<int> cross_state{kNotOpen};
  int rtp_trailer = -1;  // -1: no SRTP profile negotiated
  int rtcp_trailer = -1;
  // Sends from other threads that failed on the loop (loop thread only).
  std::uint64_t posted_send_failures = 0;
  // Loop thread: DTLS messages that came before any on_message (bounded by
  // Session::kHeldMessages), and those dropped past that bound.
  std::vector<std::vector<std::uint8_t>> held_messages;
  std::uint64_t unheard_message_drops = 0;
  void deliver_message(std::span<const std::uint8_t> message);
  void set_on_message(
      std::function<void(std::span<const std::uint8_t>)> on_message);

  // QueuedMediaTarget: media queued from other threads, sent on the loop in
  // one batch per wakeup (the socket corked meanwhile).
  void begin_queued() override;
  void send_queued(std::uint8_t tag, std::span<std::uint8_t> packet) override;
  void end_queued() override;
  std::shared_ptr<UdpEndpoint> queued_socket;  // between begin and end
  // The tag of a DTLS message queued from another thread (media packets are
  // tagged with their PacketKind).
  static constexpr std::uint8_t kQueuedMessage = 0xff;
  // The handshake completed: what sends from other threads need to know.
  void opened_with(const DtlsAssociation& a);

  // Its LoopDispatcher::at_stop hook (0: none), cancelled when it ends.
  std::uint64_t stop_hook = 0;
  const std::uint64_t id = next_handle_id();
  // connect(): what the handles share and whose last drop closes the
  // session; handles made for callbacks share it too.
  std::weak_ptr<void> owner;
  // An ICE session waiting for its first check (no association yet).
  bool ice_waiting = false;
  IceCredentials ice;
  TimePoint created_at = Clock::now();
  SessionCallbacks callbacks;
  bool is_client = false;
  Eventual<Result<std::string>> opened;
  Eventual<Status> closed;
  std::optional<Error> end_error;  // what ended it, if anything did
  std::optional<TimePoint> closing_at;
  SessionStats snapshot;

  // The live association; null before it exists and after the end.
  DtlsAssociation* association() const;
  SessionStats live_stats(const DtlsAssociation& a,
                          const srtp::MediaCounters* media) const;

  // A failure: the first one is what ends the session.
  void fail(const Error& e);
  // The end, from whichever path: the snapshot is taken by the caller.
  void finish();
  // Ends a session that never got an association (its name was still being
  // resolved, or its ICE check never came).
  void finish_unattached(std::optional<Error> error);

  // Session::close() and destroy(), on the loop.
  void close_now();
  void destroy_now(std::optional<Error> error);

 private:
  void end_ice_wait(std::optional<Error> error);
};

struct EndpointCallbacks {
  std::function<void(Session)> on_session;
  std::function<void()> on_drain;
};

struct EndpointImpl : std::enable_shared_from_this<EndpointImpl> {
  EndpointImpl(uv_loop_t* l, std::shared_ptr<LoopDispatcher> d)
      : loop(l), dispatcher(std::move(d)) {
    snapshot.created_at = created_at;
  }

  uv_loop_t* const loop;
  const std::shared_ptr<LoopDispatcher> dispatcher;  // null: caller's loop
  // Its LoopDispatcher::at_stop hook (0: none), cancelled when it ends.
  std::uint64_t stop_hook = 0;
  const std::uint64_t id = next_handle_id();
  // Null until listen() or the first connect() binds it (Endpoint::create
  // makes an endpoint with none), and again after the end.
  std::shared_ptr<UdpEndpoint> udp;
  std::unordered_map<PeerAddress, std::shared_ptr<SessionImpl>, PeerAddressHash>
      sessions;
  // Client sessions whose host name is being resolved, by session id: they
  // end with the endpoint.
  std::unordered_map<std::uint64_t, std::shared_ptr<SessionImpl>> resolving;
  // ICE sessions before their association exists, by local ufrag.
  std::unordered_map<std::string, std::shared_ptr<SessionImpl>> ice_pending;
  AssociationOptions ice_association;  // the base for ICE sessions
  EndpointCallbacks callbacks;
  bool listening = false;
  bool single_session = false;  // made by connect(): closes with its session
  bool ended = false;
  // Which socket's closing ends the endpoint: a socket bound for a connect
  // that then failed is dropped (the endpoint stays unbound), and its close
  // is not this endpoint's end.
  unsigned socket_generation = 0;
  std::optional<Error> destroy_error;
  TimePoint created_at = Clock::now();
  EndpointStats snapshot;
  Eventual<Status> closed;

  // The socket's local address, published for Endpoint::address() on any
  // thread (it changes only when a socket is bound or let go); empty without
  // a socket.
  void publish_address(const PeerAddress& local);
  PeerAddress bound_address() const;

  // For UdpEndpoint::open. They hold this object: it lives as long as the
  // socket, whoever holds handles.
  UdpEndpoint::Callbacks udp_callbacks();
  EndpointStats live_stats() const;
  // ERR_INVALID_STATE once the endpoint has ended or is closing.
  Status check_open() const;
  // ERR_INVALID_STATE as check_open, and before a socket is bound.
  Status check_bound() const;

  // listen(): binds the socket as a server. ERR_INVALID_STATE when it is
  // bound already or has ended.
  Status bind_listening(ListenPlan plan,
                        std::function<void(Session)> on_session);
  // connect() and Endpoint::connect: `session` becomes a client session to
  // host:port. An IP literal starts the handshake now; a name (even
  // "localhost") is resolved on the loop first, and the session ends with
  // ERR_DTLS_HOST_NOT_FOUND when it does not resolve. An endpoint with no
  // socket binds one first, from `plan` (its bind address and secure
  // context); a bound one lends its own.
  Status start_connect(const std::shared_ptr<SessionImpl>& session,
                       std::string_view host, std::uint16_t port,
                       ConnectPlan plan);

  // EventLoop::stop(), close(), or the last Endpoint handle dropped.
  void close_now();
  // destroy(): no alerts; `error` ends every session.
  void destroy_now(std::optional<Error> error);

 private:
  // The handshake to `remote` (resolved), on this endpoint's socket; the
  // session is keyed by it from here on. ERR_DTLS_SESSION_EXISTS when
  // `remote` has one, ERR_INVALID_ARG_VALUE when the socket is of the other
  // address family.
  Status connect_resolved(const std::shared_ptr<SessionImpl>& session,
                          const PeerAddress& remote, const ConnectPlan& plan);
  // Binds the client socket of an endpoint that has none, at `bind`.
  Status bind_client(const PeerAddress& bind, const ConnectPlan& plan);
  // What the loop's endpoints share (LoopDispatcher::loop_local).
  void share_loop_state(UdpEndpointOptions& options) const;
  // Drops a socket bound for a connect that failed: the endpoint is unbound
  // again.
  void discard_socket();
  mutable std::mutex address_mu_;
  PeerAddress bound_address_;  // guarded by address_mu_
  void handle_session(const PeerAddress& p);
  void handle_event(const PeerAddress& p, const DtlsEvent& e);
  void handle_media(const PeerAddress& p, PacketKind kind,
                    std::span<const std::uint8_t> packet);
  void handle_finished(const PeerAddress& p, const DtlsAssociation& a,
                       const srtp::MediaCounters& media);
  void handle_ice(const std::string& ufrag, const IceEvent& e);
  void handle_drain();
  void handle_closed();
};

// connect(): the session, on an endpoint of its own (see start_connect).
Result<std::shared_ptr<SessionImpl>> open_client(
    uv_loop_t* loop, std::shared_ptr<LoopDispatcher> dispatcher,
    std::string_view host, std::uint16_t port, ConnectPlan plan);

}  // namespace dtls::detail

#endif  // DTLS_SRTP_TRANSPORT_DTLS_API_IMPL_H_
