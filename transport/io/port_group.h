// The endpoints that share one UDP port, one per EventLoop (SO_REUSEPORT):
// their cookie secret (RFC 6347 §4.2.1: each accepts the cookies the others
// issue) and the directory of their ICE sessions (PortDirectory), through
// which a member hands a peer's datagrams to the member that owns the peer's
// session: copied into that member's loop queue, handled there in one batch
// per wakeup. Every member runs on an EventLoop. Thread-safe.
#ifndef DTLS_SRTP_TRANSPORT_IO_PORT_GROUP_H_
#define DTLS_SRTP_TRANSPORT_IO_PORT_GROUP_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>

#include "transport/base/error.h"
#include "transport/base/peer_address.h"
#include "transport/dtls/cookie_gate.h"
#include "transport/endpoint/port_directory.h"
#include "transport/io/event_loop.h"

namespace dtls {

class PortGroup : public PortDirectory {
 public:
  using Secret = std::array<std::uint8_t, CookieGate::kSecretSize>;
  // The tag of a handed-over datagram in a loop's queue.
  static constexpr std::uint8_t kHandedOver = 0xfe;
  // The largest datagram that can be handed over (a queue slot, less the
  // source address); larger ones are dropped and counted (forward_drops).
  static constexpr size_t kMaxHandedOver =
      LoopDispatcher::kMediaSlotBytes - sizeof(PeerAddress);

  // A group with a random cookie secret; ERR_RANDOM when none can be had.
  static Result<std::shared_ptr<PortGroup>> create();
  // With a given secret (kSecretSize bytes, else ERR_INVALID_ARG_VALUE).
  static Result<std::shared_ptr<PortGroup>> create(
      std::span<const std::uint8_t> cookie_secret);

  const Secret& cookie_secret() const { return secret_; }

  // PortDirectory.
  bool claim(std::string_view ufrag, std::string_view pwd,
             Member member) override;
  void release(std::string_view ufrag, Member member) override;
  std::optional<Member> owner(const stun::Message& request) const override;
  std::optional<Member> holder(std::string_view ufrag) const override;

  // The I/O layer. A number for a member about to join.
  Member reserve() { return next_member_++; }
  // The member takes handed-over datagrams on `dispatcher`'s loop, through
  // `inbox` (send_queued with kHandedOver: a PeerAddress, then the datagram).
  void join(Member member, std::shared_ptr<LoopDispatcher> dispatcher,
            std::weak_ptr<QueuedMediaTarget> inbox);
  // Gone: its ICE sessions' ufrags are free, datagrams for it are dropped.
  void leave(Member member);
  // Where datagrams for a member go: its loop and its inbox.
  struct Route {
    std::shared_ptr<LoopDispatcher> dispatcher;
    std::shared_ptr<QueuedMediaTarget> inbox;
  };
  // Null when the member is not (or no longer) in the group.
  std::optional<Route> route(Member member) const;
  // Changes whenever a member joins or leaves, so that a sender may keep
  // routes (a lock per datagram, shared by every loop of the port, costs
  // more than the hand-over itself) and look them up again when it moves.
  std::uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }
  // Any thread: `data` from `from` into the loop queue of `route`. 0, or
  // -ENOBUFS (its queue is full), -EMSGSIZE (past kMaxHandedOver),
  // -ESHUTDOWN (its loop has stopped).
  static int hand_over(const Route& route, const PeerAddress& from,
                       std::span<const std::uint8_t> data);
  // The same, looking the member up (-ESHUTDOWN when it has gone).
  int hand_over(Member to, const PeerAddress& from,
                std::span<const std::uint8_t> data) const;
  size_t members() const;
  size_t sessions() const;

 private:
  explicit PortGroup(const Secret& secret) : secret_(secret) {}

  struct Slot {
    std::shared_ptr<LoopDispatcher> dispatcher;
    std::weak_ptr<QueuedMediaTarget> inbox;
  };
  struct Owner {
    std::string pwd;
    Member member;
  };

  const Secret secret_;
  std::atomic<Member> next_member_{0};
  std::atomic<std::uint64_t> generation_{0};
  // Read on every hand-over and every check for another member's session;
  // written when members and ICE sessions come and go.
  mutable std::shared_mutex mu_;
  std::unordered_map<Member, Slot> members_;
  std::unordered_map<std::string, Owner> owners_;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_IO_PORT_GROUP_H_
