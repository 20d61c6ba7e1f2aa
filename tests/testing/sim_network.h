// A simulated network of endpoint cores: each sits at an address, every
// datagram crosses a seeded link (loss, duplication, reordering, delay) to
// the node at its destination, and one simulated clock drives all of them
// (OpenSSL's DTLS timer included, through fake_wall_clock). Addresses with no
// core behind them collect what is sent there, so a test can play a peer by
// hand. Nothing sleeps and nothing touches a socket.
#ifndef DTLS_SRTP_TESTS_TESTING_SIM_NETWORK_H_
#define DTLS_SRTP_TESTS_TESTING_SIM_NETWORK_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "tests/testing/sim_link.h"
#include "tools/relay/impairment.h"
#include "transport/base/peer_address.h"
#include "transport/base/time.h"
#include "transport/endpoint/endpoint_core.h"

namespace dtls::testing {

// 10.0.0.<host>:<port>, a simulated address.
PeerAddress sim_address(int host, std::uint16_t port = 5000);

// The directory of a simulated shared port: one thread, a map.
class SimPortDirectory : public PortDirectory {
 public:
  bool claim(std::string_view ufrag, std::string_view pwd,
             Member member) override;
  void release(std::string_view ufrag, Member member) override;
  std::optional<Member> owner(const stun::Message& request) const override;
  std::optional<Member> holder(std::string_view ufrag) const override;
  size_t size() const { return owners_.size(); }

 private:
  struct Owner {
    std::string pwd;
    Member member;
  };
  std::unordered_map<std::string, Owner> owners_;
};

class SimNetwork {
 public:
  struct Datagram {
    PeerAddress from;
    PeerAddress to;
    std::vector<std::uint8_t> bytes;
    // A hand-over between the members of a shared port
    // (DatagramSink::forward), for that member: not on the wire.
    int member = -1;
  };

  // `link` applies to every datagram unless set_link says otherwise.
  explicit SimNetwork(std::uint64_t seed = 1, LinkConfig link = {});
  ~SimNetwork();

  TimePoint now() const { return now_; }

  // A core at `address` (replacing one that is there: a peer restarting on
  // the same address). Built at now().
  EndpointCore& add(const PeerAddress& address, EndpointCoreOptions options,
                    EndpointCore::Callbacks callbacks = {});
  // One more core at `address`, sharing the port with those there (the
  // members of a port, one per worker loop): datagrams to the address go to
  // the member `steer` picks by their source, as the kernel does with
  // SO_REUSEPORT. options.port_member is set to its number (0, 1, ...);
  // options.port_directory is the test's.
  EndpointCore& add_member(const PeerAddress& address,
                           EndpointCoreOptions options,
                           EndpointCore::Callbacks callbacks = {});
  // Which member of the `members` at an address gets a datagram from
  // `from`; by default a hash of the address.
  std::function<size_t(const PeerAddress& from, size_t members)> steer;
  // The core at `address` (the first member of a shared port), or null.
  EndpointCore* at(const PeerAddress& address);
  // Member `index` of a shared port, or null.
  EndpointCore* member(const PeerAddress& address, size_t index);
  // The node leaves (its datagrams in flight still arrive elsewhere; those
  // to it are collected like any address without a core).
  void remove(const PeerAddress& address);
  // The node at `from` is at `to` from now on (NAT rebinding).
  void move(const PeerAddress& from, const PeerAddress& to);

  // Datagrams from `from` to `to` cross this link (a one-way setting).
  void set_link(const PeerAddress& from, const PeerAddress& to,
                LinkConfig link);
  // Sees every datagram as it is sent: false drops it.
  std::function<bool(Datagram&)> filter;

  // A datagram from anyone (a hand-made peer, or a spoofed source), over the
  // link from `from` to `to`.
  void send(const PeerAddress& from, const PeerAddress& to,
            std::vector<std::uint8_t> bytes);
  // What arrived at addresses without a core, in order; taken out.
  std::vector<Datagram> take_collected(const PeerAddress& to);

  // Runs (datagrams and deadlines in time order) until `done` holds or
  // `limit` of simulated time has passed; whether `done` holds.
  bool run_until(const std::function<bool()>& done,
                 Duration limit = std::chrono::seconds(60));
  // Runs for `d` of simulated time.
  void run_for(Duration d);

  struct Stats {
    std::uint64_t sent = 0, delivered = 0, lost = 0, filtered = 0,
                  collected = 0;
    std::uint64_t queue_dropped = 0;  // at a full bottleneck queue
    std::uint64_t handed_over = 0;    // between members of a port
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Node;
  class Sink;
  struct InFlight {
    TimePoint at;
    std::uint64_t order;  // FIFO among equal times
    Datagram datagram;
    bool operator>(const InFlight& o) const {
      return at != o.at ? at > o.at : order > o.order;
    }
  };
  Node* node(const PeerAddress& address);
  // Where a datagram goes: its member, or the one steer picks.
  Node* receiver(const Datagram& d);
  void hand_over(const PeerAddress& port, PortDirectory::Member member,
                 const PeerAddress& from, std::span<const std::uint8_t> data);
  const LinkConfig& link(const PeerAddress& from, const PeerAddress& to) const;
  bool chance(double p);
  // Everything due at now(); false when nothing was.
  bool step();
  void advance(TimePoint to);

  TimePoint now_;
  std::mt19937_64 rng_;
  LinkConfig default_link_;
  std::vector<std::pair<std::pair<PeerAddress, PeerAddress>, LinkConfig>>
      links_;
  // The bottleneck of each rate-limited one-way link, made at its first
  // datagram.
  std::vector<std::pair<std::pair<PeerAddress, PeerAddress>,
                        std::unique_ptr<relay::Impairment>>>
      bottlenecks_;
  std::vector<std::unique_ptr<Node>> nodes_;
  // Nodes replaced or removed while one of their calls may still be on the
  // stack: dropped at the next step.
  std::vector<std::unique_ptr<Node>> retired_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> queue_;
  std::uint64_t order_ = 0;
  std::unordered_map<PeerAddress, std::vector<Datagram>, PeerAddressHash>
      collected_;
  Stats stats_;
};

}  // namespace dtls::testing

#endif  // DTLS_SRTP_TESTS_TESTING_SIM_NETWORK_H_
