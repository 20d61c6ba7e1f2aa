// Endpoint cores sharing one port (one per worker loop): a WebRTC peer whose
// datagrams the kernel brings to a member other than its session's owner,
// over a simulated network whose `steer` plays the kernel's SO_REUSEPORT
// choice.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/testing/endpoint_recorder.h"
#include "tests/testing/ice_check.h"
#include "tests/testing/rtp_packets.h"
#include "tests/testing/sim_network.h"
#include "transport/endpoint/endpoint_core.h"
#include "transport/ice/stun_message.h"

namespace dtls {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::both_open;
using testing::sim_address;
using testing::SimNetwork;
using testing::SimPortDirectory;
using Recorder = testing::EndpointRecorder;

const PeerAddress kPort = sim_address(1, 443);

constexpr char kUfrag[] = "srvr";
constexpr char kPwd[] = "0123456789abcdefghijklmn";
constexpr char kBrowserUfrag[] = "brws";

std::vector<std::uint8_t> check(bool use_candidate = false, std::uint8_t id = 1,
                                const char* pwd = kPwd) {
  return testing::ice_check(std::string(kUfrag) + ":" + kBrowserUfrag, pwd,
                            use_candidate, id);
}

EndpointCoreOptions member_options(std::shared_ptr<SimPortDirectory> d) {
  EndpointCoreOptions o;
  o.context = testing::endpoint_context(0);
  o.ice_lite = true;
  o.port_directory = std::move(d);
  return o;
}

EndpointCoreOptions browser_options() {
  EndpointCoreOptions o;
  o.context = testing::endpoint_context(1);
  return o;
}

IceSessionOptions ice_session() {
  IceSessionOptions o;
  o.local = {kUfrag, kPwd};
  o.remote_ufrag = kBrowserUfrag;
  o.association.peer_fingerprints = {testing::endpoint_fingerprint(1)};
  return o;
}

AssociationOptions pin_server() {
  AssociationOptions a;
  a.peer_fingerprints = {testing::endpoint_fingerprint(0)};
  return a;
}

// Two members on kPort; every datagram from a browser lands on member 1
// unless `steer` is changed.
struct Port {
  explicit Port(std::uint64_t seed = 1) : net(seed) {
    net.steer = [](const PeerAddress&, size_t) { return size_t{1}; };
    owner = &net.add_member(kPort, member_options(directory), rec0.callbacks());
    other = &net.add_member(kPort, member_options(directory), rec1.callbacks());
  }
  SimNetwork net;
  std::shared_ptr<SimPortDirectory> directory =
      std::make_shared<SimPortDirectory>();
  Recorder rec0, rec1;
  EndpointCore* owner;  // member 0
  EndpointCore* other;  // member 1
};

TEST(EndpointCorePort, AnIceSessionWorksWhenItsPeerLandsOnAnotherMember) {
  Port p;
  ASSERT_TRUE(p.owner->add_ice_session(ice_session(), p.net.now()).ok());
  EXPECT_EQ(p.directory->size(), 1u);
  const PeerAddress browser = sim_address(10, 5000);
  Recorder brec;
  EndpointCore& b = p.net.add(browser, browser_options(), brec.callbacks());
  // The ClientHello races the check: member 1 holds it, then hands both to
  // the owner once the check shows whose session it is.
  ASSERT_TRUE(b.connect(kPort, pin_server(), p.net.now()).ok());
  p.net.run_for(milliseconds(50));
  EXPECT_EQ(p.other->stats().ice_held, 1u);
  p.net.send(browser, kPort, check(true));
  ASSERT_TRUE(p.net.run_until([&] { return both_open(p.rec0, brec); }));
  // No retransmission was needed: the held hello went over with the check.
  EXPECT_EQ(b.association(kPort)->stats().retransmit_count, 0u);
  EXPECT_EQ(p.owner->stats().stun_checks, 1u);
  EXPECT_EQ(p.owner->stats().ice_held, 0u);
  EXPECT_EQ(p.other->stats().stun_checks, 0u);
  EXPECT_EQ(p.other->stats().stun_errors, 0u);
  EXPECT_EQ(p.other->session_count(), 0u);
  EXPECT_EQ(p.other->forwarded_addresses(), 1u);
  // Everything the browser sent came in at member 1 and went on to 0.
  const auto forwarded = p.other->stats().forwarded;
  EXPECT_GE(forwarded, 4u);  // check, hello, hello with cookie, 2nd flight
  EXPECT_EQ(p.owner->stats().forwarded_in, forwarded);
  EXPECT_EQ(p.owner->stats().packets_received, 0u);
  EXPECT_EQ(p.other->stats().forward_drops, 0u);
  // SRTP both ways: the browser's packets through member 1.
  ASSERT_TRUE(p.owner
                  ->send_media(browser, PacketKind::kRtp,
                               testing::make_rtp(1, 1, 100), p.net.now())
                  .ok());
  ASSERT_TRUE(b.send_media(kPort, PacketKind::kRtp,
                           testing::make_rtp(2, 7, 100), p.net.now())
                  .ok());
  ASSERT_TRUE(p.net.run_until(
      [&] { return p.rec0.media.size() == 1 && brec.media.size() == 1; }));
  EXPECT_EQ(p.rec0.media[0].packet, testing::make_rtp(2, 7, 100));
  EXPECT_EQ(p.rec0.media[0].from, browser);
  EXPECT_EQ(brec.media[0].from, kPort);
  EXPECT_EQ(p.other->stats().media_without_session, 0u);
  EXPECT_TRUE(p.rec1.media.empty());
}

TEST(EndpointCorePort, AMoveToAnAddressTheOwnerHearsNeedsNoHandOver) {
  Port p;
  // Port 5000 lands on member 1, anything else on member 0.
  p.net.steer = [](const PeerAddress& from, size_t) {
    return size_t{from.port() == 5000 ? 1u : 0u};
  };
  ASSERT_TRUE(p.owner->add_ice_session(ice_session(), p.net.now()).ok());
  const PeerAddress first = sim_address(10, 5000);
  const PeerAddress second = sim_address(10, 6000);
  Recorder brec;
  EndpointCore& b = p.net.add(first, browser_options(), brec.callbacks());
  p.net.send(first, kPort, check(true));
  ASSERT_TRUE(b.connect(kPort, pin_server(), p.net.now()).ok());
  ASSERT_TRUE(p.net.run_until([&] { return both_open(p.rec0, brec); }));
  const auto handed = p.other->stats().forwarded;
  // The browser moves (a new candidate pair, nominated): its checks and
  // media now reach the owner itself.
  p.net.move(first, second);
  p.net.send(second, kPort, check(true, 2));
  p.net.run_for(milliseconds(10));
  ASSERT_TRUE(p.owner->ice_responder(kUfrag)->selected());
  EXPECT_EQ(*p.owner->ice_responder(kUfrag)->selected(), second);
  ASSERT_TRUE(b.send_media(kPort, PacketKind::kRtp, testing::make_rtp(2, 1, 50),
                           p.net.now())
                  .ok());
  ASSERT_TRUE(p.net.run_until([&] { return p.rec0.media.size() == 1; }));
  EXPECT_EQ(p.rec0.media[0].from, first);            // the session's key
  EXPECT_EQ(p.owner->stats().packets_received, 2u);  // the check, the RTP
  EXPECT_EQ(p.other->stats().forwarded, handed);
  // Media to the browser follows the nomination.
  ASSERT_TRUE(p.owner
                  ->send_media(first, PacketKind::kRtp,
                               testing::make_rtp(1, 1, 50), p.net.now())
                  .ok());
  ASSERT_TRUE(p.net.run_until([&] { return brec.media.size() == 1; }));
}

TEST(EndpointCorePort, AForgedCheckStealsNoAddress) {
  Port p;
  ASSERT_TRUE(p.owner->add_ice_session(ice_session(), p.net.now()).ok());
  const PeerAddress stranger = sim_address(66, 5000);
  // The right ufrag, the wrong password: member 1 takes it as a check for
  // nobody's session (an error, RFC 8489 §9.1.3) and remembers nothing.
  p.net.send(stranger, kPort, check(true, 1, "wrongwrongwrongwrongwron"));
  p.net.run_for(milliseconds(10));
  EXPECT_EQ(p.other->stats().stun_errors, 1u);
  EXPECT_EQ(p.other->stats().forwarded, 0u);
  EXPECT_EQ(p.other->forwarded_addresses(), 0u);
  EXPECT_EQ(p.owner->stats().stun_errors, 0u);
  // Media from that address is not handed over either.
  p.net.send(stranger, kPort, testing::make_rtp(9, 1, 100));
  p.net.run_for(milliseconds(10));
  EXPECT_EQ(p.other->stats().media_without_session, 1u);
  EXPECT_EQ(p.owner->stats().forwarded_in, 0u);
}

TEST(EndpointCorePort, AnAddressIsForgottenWhenItsChecksStop) {
  Port p;
  IceSessionOptions session = ice_session();
  session.consent_timeout = seconds(60);  // the owner keeps the session
  ASSERT_TRUE(p.owner->add_ice_session(session, p.net.now()).ok());
  EndpointCoreOptions o = member_options(p.directory);
  o.forward_timeout = seconds(5);
  // Member 1 again, with a shorter memory.
  p.other = &p.net.add_member(kPort, o, p.rec1.callbacks());
  p.net.steer = [](const PeerAddress&, size_t) { return size_t{2}; };
  const PeerAddress browser = sim_address(10, 5000);
  Recorder brec;
  EndpointCore& b = p.net.add(browser, browser_options(), brec.callbacks());
  p.net.send(browser, kPort, check(true));
  ASSERT_TRUE(b.connect(kPort, pin_server(), p.net.now()).ok());
  ASSERT_TRUE(p.net.run_until([&] { return both_open(p.rec0, brec); }));
  EXPECT_EQ(p.other->forwarded_addresses(), 1u);
  EXPECT_EQ(p.other->deadline_count(), 1u);  // the table's oldest entry
  // A check 4 s later keeps it; 5 s after that it is gone.
  p.net.run_for(seconds(4));
  p.net.send(browser, kPort, check(false, 2));
  p.net.run_for(milliseconds(4990));
  EXPECT_EQ(p.other->forwarded_addresses(), 1u);
  p.net.run_for(milliseconds(20));
  EXPECT_EQ(p.other->forwarded_addresses(), 0u);
  EXPECT_EQ(p.other->deadline_count(), 0u);
  ASSERT_TRUE(b.send_media(kPort, PacketKind::kRtp, testing::make_rtp(2, 1, 50),
                           p.net.now())
                  .ok());
  p.net.run_for(milliseconds(10));
  EXPECT_EQ(p.other->stats().media_without_session, 1u);
  EXPECT_TRUE(p.rec0.media.empty());
  // The next check hands the address over again.
  p.net.send(browser, kPort, check(false, 3));
  ASSERT_TRUE(b.send_media(kPort, PacketKind::kRtp, testing::make_rtp(2, 2, 50),
                           p.net.now())
                  .ok());
  ASSERT_TRUE(p.net.run_until([&] { return p.rec0.media.size() == 1; }));
}

TEST(EndpointCorePort, AUfragIsUniqueOnThePort) {
  Port p;
  ASSERT_TRUE(p.owner->add_ice_session(ice_session(), p.net.now()).ok());
  auto st = p.other->add_ice_session(ice_session(), p.net.now());
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "ERR_ICE_UFRAG_IN_USE");
  // The owner's own second add is refused by its table (the claim stays).
  EXPECT_EQ(p.owner->add_ice_session(ice_session(), p.net.now()).error().code,
            "ERR_ICE_UFRAG_IN_USE");
  EXPECT_EQ(p.directory->size(), 1u);
  // Bad options never claim anything.
  IceSessionOptions bad = ice_session();
  bad.local.ufrag = "other";
  bad.consent_timeout = milliseconds(0);
  EXPECT_EQ(p.other->add_ice_session(bad, p.net.now()).error().code,
            "ERR_OUT_OF_RANGE");
  EXPECT_EQ(p.directory->size(), 1u);
  p.owner->remove_ice_session(kUfrag, p.net.now());
  EXPECT_EQ(p.directory->size(), 0u);
  ASSERT_TRUE(p.other->add_ice_session(ice_session(), p.net.now()).ok());
  // Consent running out gives it back too.
  p.net.run_for(seconds(31));
  EXPECT_EQ(p.directory->size(), 0u);
  EXPECT_EQ(p.rec1.count(IceEvent::Type::kFailed), 1);
  // And so does the end of the endpoint.
  ASSERT_TRUE(p.owner->add_ice_session(ice_session(), p.net.now()).ok());
  p.owner->destroy();
  EXPECT_EQ(p.directory->size(), 0u);
}

// An address belongs to the session first checked from it while that one
// lasts. An authentic check for another session (the sender's own
// credentials, from a spoofed source), whichever member owns that session,
// takes nothing: the browser's media keeps reaching its owner. Once the
// browser's session has gone, a check takes the address.
TEST(EndpointCorePort, ASpoofedCheckCannotTakeAnAddress) {
  Port p;
  ASSERT_TRUE(p.owner->add_ice_session(ice_session(), p.net.now()).ok());
  IceSessionOptions here = ice_session();  // the attacker's, on member 1
  here.local = {"here", "abcdefghijklmnopqrstuvwx"};
  ASSERT_TRUE(p.other->add_ice_session(here, p.net.now()).ok());
  IceSessionOptions there = ice_session();  // another, on member 0
  there.local = {"there", "ABCDEFGHIJKLMNOPQRSTUVWX"};
  ASSERT_TRUE(p.owner->add_ice_session(there, p.net.now()).ok());
  const PeerAddress browser = sim_address(10, 5000);
  Recorder brec;
  EndpointCore& b = p.net.add(browser, browser_options(), brec.callbacks());
  p.net.send(browser, kPort, check(true));
  ASSERT_TRUE(b.connect(kPort, pin_server(), p.net.now()).ok());
  ASSERT_TRUE(p.net.run_until([&] { return both_open(p.rec0, brec); }));
  // The attacker's checks, from the browser's address.
  p.net.send(browser, kPort,
             testing::ice_check(std::string("here:") + kBrowserUfrag,
                                "abcdefghijklmnopqrstuvwx", true, 7));
  p.net.send(browser, kPort,
             testing::ice_check(std::string("there:") + kBrowserUfrag,
                                "ABCDEFGHIJKLMNOPQRSTUVWX", true, 8));
  p.net.run_for(milliseconds(10));
  EXPECT_EQ(p.other->stats().stun_checks, 1u);  // answered, as any check
  EXPECT_EQ(p.other->forwarded_addresses(), 1u);
  for (std::uint16_t seq = 1; seq <= 3; ++seq) {
    ASSERT_TRUE(b.send_media(kPort, PacketKind::kRtp,
                             testing::make_rtp(2, seq, 50), p.net.now())
                    .ok());
  }
  ASSERT_TRUE(p.net.run_until([&] { return p.rec0.media.size() == 3; }));
  EXPECT_EQ(p.other->stats().media_without_session, 0u);
  // The browser's session ends; the next local check takes the address.
  p.owner->remove_ice_session(kUfrag, p.net.now());
  p.net.run_for(milliseconds(10));
  p.net.send(browser, kPort,
             testing::ice_check(std::string("here:") + kBrowserUfrag,
                                "abcdefghijklmnopqrstuvwx", true, 9));
  p.net.run_for(milliseconds(10));
  EXPECT_EQ(p.other->forwarded_addresses(), 0u);
}

// One session's credentials from many spoofed sources make at most its share
// of entries (8), and push out no other session's.
TEST(EndpointCorePort, AFloodOfChecksTakesOnlyItsShare) {
  Port p;
  ASSERT_TRUE(p.owner->add_ice_session(ice_session(), p.net.now()).ok());
  IceSessionOptions flood = ice_session();
  flood.local = {"flud", "ABCDEFGHIJKLMNOPQRSTUVWX"};
  ASSERT_TRUE(p.owner->add_ice_session(flood, p.net.now()).ok());
  const PeerAddress browser = sim_address(10, 5000);
  p.net.send(browser, kPort, check(true));
  for (int i = 0; i < 40; ++i) {
    p.net.send(sim_address(66, static_cast<std::uint16_t>(6000 + i)), kPort,
               testing::ice_check(std::string("flud:") + kBrowserUfrag,
                                  "ABCDEFGHIJKLMNOPQRSTUVWX", false,
                                  static_cast<std::uint8_t>(i)));
  }
  p.net.run_for(milliseconds(10));
  EXPECT_EQ(p.other->forwarded_addresses(), 9u);  // 8 and the browser's
  p.net.send(browser, kPort, testing::make_rtp(2, 1, 50));
  p.net.run_for(milliseconds(10));
  EXPECT_EQ(p.other->stats().media_without_session, 0u);
}

// A datagram handed over is never handed on: the owner that no longer has
// the session answers it itself, whatever the directory says meanwhile.
TEST(EndpointCorePort, AHandedOverDatagramIsNotHandedOnAgain) {
  Port p;
  ASSERT_TRUE(p.owner->add_ice_session(ice_session(), p.net.now()).ok());
  const PeerAddress browser = sim_address(10, 5000);
  std::vector<std::uint8_t> c = check(true);
  // As if member 1 had just handed it over, while member 0's session is
  // gone and the directory (for a moment) names member 1.
  p.owner->remove_ice_session(kUfrag, p.net.now());
  ASSERT_TRUE(p.directory->claim(kUfrag, kPwd, 1));
  p.owner->handle_forwarded(c, browser, p.net.now());
  EXPECT_EQ(p.owner->stats().forwarded, 0u);
  EXPECT_EQ(p.owner->stats().stun_errors, 1u);
  EXPECT_EQ(p.owner->stats().forwarded_in, 1u);
}

}  // namespace
}  // namespace dtls
