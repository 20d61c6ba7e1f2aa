// The endpoint core's ICE-lite half over a simulated network: browsers played
// by client cores and hand-made checks, one simulated clock, exact times.
#include <gtest/gtest.h>

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
using testing::both_open;
using testing::sim_address;
using testing::SimNetwork;
using Recorder = testing::EndpointRecorder;

const PeerAddress kServer = sim_address(1, 443);

PeerAddress client_address(int i) { return sim_address(10 + i, 5000); }

EndpointCoreOptions client_options() {
  EndpointCoreOptions o;
  o.context = testing::endpoint_context(1);
  return o;
}

AssociationOptions pin_server() {
  AssociationOptions a;
  a.peer_fingerprints = {testing::endpoint_fingerprint(0)};
  return a;
}

constexpr char kUfrag[] = "srvr";
constexpr char kPwd[] = "0123456789abcdefghijklmn";
constexpr char kBrowserUfrag[] = "brws";

std::vector<std::uint8_t> check(bool use_candidate = false,
                                std::uint8_t id = 1) {
  return testing::ice_check(std::string(kUfrag) + ":" + kBrowserUfrag, kPwd,
                            use_candidate, id);
}

EndpointCoreOptions ice_options() {
  EndpointCoreOptions o;
  o.context = testing::endpoint_context(0);
  o.ice_lite = true;
  return o;
}

IceSessionOptions ice_session() {
  IceSessionOptions o;
  o.local = {kUfrag, kPwd};
  o.remote_ufrag = kBrowserUfrag;
  o.association.peer_fingerprints = {testing::endpoint_fingerprint(1)};
  return o;
}

TEST(EndpointCoreIce, PassiveHoldsAnEarlyClientHelloAndReplaysItAfterTheCheck) {
  SimNetwork net;
  Recorder srec, crec;
  EndpointCore& s = net.add(kServer, ice_options(), srec.callbacks());
  ASSERT_TRUE(s.add_ice_session(ice_session(), net.now()).ok());
  const PeerAddress browser = client_address(1);
  EndpointCore& c = net.add(browser, client_options(), crec.callbacks());
  std::vector<std::vector<std::uint8_t>> from_server;
  net.filter = [&](SimNetwork::Datagram& d) {
    if (d.from == kServer) from_server.push_back(d.bytes);
    return true;
  };
  // The ClientHello comes first, from an address no check has proved: held.
  ASSERT_TRUE(c.connect(kServer, pin_server(), net.now()).ok());
  net.run_for(milliseconds(100));
  EXPECT_EQ(s.stats().ice_held, 1u);
  EXPECT_EQ(s.session_count(), 0u);
  EXPECT_TRUE(from_server.empty());  // not even a HelloVerifyRequest
  net.send(browser, kServer, check(true));
  ASSERT_TRUE(net.run_until([&] { return both_open(srec, crec); }));
  // The success response reflects the browser's address, signed with our pwd.
  ASSERT_FALSE(from_server.empty());
  auto res = stun::Message::parse(from_server[0]);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->message_class(), stun::Class::kSuccess);
  EXPECT_EQ(res->xor_mapped_address(), browser);
  EXPECT_TRUE(res->check_integrity(std::string_view(kPwd)));
  EXPECT_TRUE(res->check_fingerprint());
  // The held ClientHello was replayed (and answered with a cookie) rather
  // than waiting for the client's retransmission a second later.
  EXPECT_EQ(s.stats().ice_replayed, 1u);
  EXPECT_EQ(s.stats().stun_checks, 1u);
  EXPECT_EQ(c.association(kServer)->stats().retransmit_count, 0u);
  EXPECT_EQ(srec.count(IceEvent::Type::kNominated), 1);
  EXPECT_EQ(srec.count(IceEvent::Type::kChecked), 1);
  EXPECT_EQ(srec.count(IceEvent::Type::kSessionStarted), 1);
  for (const auto& [ufrag, e] : srec.ice) {
    EXPECT_EQ(ufrag, kUfrag);
    EXPECT_EQ(e.address, browser);
  }
  EXPECT_TRUE(srec.sessions.empty());  // ICE sessions are not on_session's
  // SRTP both ways on the checked address.
  ASSERT_TRUE(s.send_media(browser, PacketKind::kRtp,
                           testing::make_rtp(1, 1, 100), net.now())
                  .ok());
  ASSERT_TRUE(c.send_media(kServer, PacketKind::kRtp,
                           testing::make_rtp(2, 1, 100), net.now())
                  .ok());
  ASSERT_TRUE(net.run_until(
      [&] { return srec.media.size() == 1 && crec.media.size() == 1; }));
  EXPECT_EQ(srec.media[0].from, browser);
  EXPECT_EQ(srec.media[0].packet, testing::make_rtp(2, 1, 100));
  // Media did not arm media_idle_timeout: consent decides for ICE peers.
  ASSERT_NE(s.association(browser), nullptr);
  EXPECT_EQ(s.association(browser)->idle_timeout(), milliseconds(0));
  // A non-ICE client of the same peer keeps its default.
  ASSERT_NE(c.association(kServer), nullptr);
  EXPECT_EQ(c.association(kServer)->idle_timeout(), std::chrono::seconds(30));
  s.close(net.now());
  ASSERT_TRUE(
      net.run_until([&] { return crec.count(DtlsEvent::Type::kClosed); }));
  // The ICE session went with its DTLS association.
  EXPECT_EQ(s.ice_responder(kUfrag), nullptr);
}

// A held ClientHello is replayed only while fresh (ice_hold_time): one from
// longer ago waits for the client's retransmission.
TEST(EndpointCoreIce, AStaleHeldClientHelloIsNotReplayed) {
  SimNetwork net;
  Recorder srec, crec;
  EndpointCoreOptions o = ice_options();
  o.ice_hold_time = milliseconds(500);
  EndpointCore& s = net.add(kServer, o, srec.callbacks());
  ASSERT_TRUE(s.add_ice_session(ice_session(), net.now()).ok());
  const PeerAddress browser = client_address(1);
  EndpointCore& c = net.add(browser, client_options(), crec.callbacks());
  AssociationOptions a = pin_server();
  a.initial_retransmit_timeout = milliseconds(800);
  const TimePoint t0 = net.now();
  ASSERT_TRUE(c.connect(kServer, a, t0).ok());
  net.run_for(milliseconds(600));
  net.send(browser, kServer, check(true));
  ASSERT_TRUE(net.run_until([&] { return both_open(srec, crec); }));
  EXPECT_EQ(s.stats().ice_held, 1u);
  EXPECT_EQ(s.stats().ice_replayed, 0u);
  EXPECT_EQ(c.association(kServer)->stats().retransmit_count, 1u);
  EXPECT_GT(net.now(), t0 + milliseconds(800));
}

TEST(EndpointCoreIce, ConsentExpiresWithAClearCode) {
  SimNetwork net;
  Recorder srec, crec;
  EndpointCore& s = net.add(kServer, ice_options(), srec.callbacks());
  // No check at all: the session fails on its own, at its consent_timeout.
  auto lonely = ice_session();
  lonely.local.ufrag = "lone";
  lonely.consent_timeout = milliseconds(50);
  const TimePoint t0 = net.now();
  ASSERT_TRUE(s.add_ice_session(lonely, t0).ok());
  ASSERT_TRUE(
      net.run_until([&] { return srec.count(IceEvent::Type::kFailed) == 1; }));
  EXPECT_EQ(net.now(), t0 + milliseconds(50));
  EXPECT_EQ(srec.ice.back().first, "lone");
  EXPECT_EQ(srec.ice.back().second.error.code, "ERR_ICE_CONSENT_EXPIRED");
  EXPECT_EQ(s.ice_responder("lone"), nullptr);
  // An established session whose checks stop ends with the same code,
  // consent_timeout after the last check (RFC 7675 §5.1).
  auto o = ice_session();
  o.consent_timeout = milliseconds(400);
  ASSERT_TRUE(s.add_ice_session(o, net.now()).ok());
  const PeerAddress browser = client_address(1);
  EndpointCore& c = net.add(browser, client_options(), crec.callbacks());
  net.send(browser, kServer, check(true));
  net.run_for(milliseconds(10));
  const TimePoint checked = net.now();
  ASSERT_TRUE(c.connect(kServer, pin_server(), net.now()).ok());
  ASSERT_TRUE(net.run_until([&] { return both_open(srec, crec); }));
  // A later check moves the deadline.
  net.run_for(milliseconds(100));
  net.send(browser, kServer, check(false, 2));
  net.run_for(milliseconds(10));
  const TimePoint refreshed = net.now();
  EXPECT_GT(refreshed, checked);
  ASSERT_TRUE(
      net.run_until([&] { return srec.count(DtlsEvent::Type::kError) == 1; }));
  EXPECT_EQ(net.now(), refreshed + milliseconds(400));
  EXPECT_EQ(srec.error_codes(),
            std::vector<std::string>{"ERR_ICE_CONSENT_EXPIRED"});
  EXPECT_EQ(srec.events.back().first, browser);
  EXPECT_EQ(s.session_count(), 0u);
  EXPECT_EQ(s.stats().ice_consent_expired, 2u);
  EXPECT_EQ(s.ice_responder(kUfrag), nullptr);
}

// NAT rebinding: the peer's address changes mid-session. Its media is taken
// from the new address only after a valid check there, and once that check
// nominates it, our media goes there too (RFC 8445 §11.1, §12.1).
TEST(EndpointCoreIce, MediaFollowsThePeerToANewAddressAfterACheck) {
  SimNetwork net;
  Recorder srec, crec;
  EndpointCore& s = net.add(kServer, ice_options(), srec.callbacks());
  ASSERT_TRUE(s.add_ice_session(ice_session(), net.now()).ok());
  const PeerAddress first = client_address(1);
  const PeerAddress second = client_address(2);
  EndpointCore& c = net.add(first, client_options(), crec.callbacks());
  net.send(first, kServer, check(true));
  net.run_for(milliseconds(20));
  ASSERT_TRUE(c.connect(kServer, pin_server(), net.now()).ok());
  ASSERT_TRUE(net.run_until([&] { return both_open(srec, crec); }));
  net.move(first, second);
  ASSERT_TRUE(c.send_media(kServer, PacketKind::kRtp,
                           testing::make_rtp(2, 1, 80), net.now())
                  .ok());
  net.run_for(milliseconds(20));
  EXPECT_EQ(srec.media.size(), 0u);
  EXPECT_EQ(s.stats().media_without_session, 1u);
  net.send(second, kServer, check(true, 2));
  net.run_for(milliseconds(20));
  EXPECT_EQ(s.remote_of(first), second);
  ASSERT_TRUE(c.send_media(kServer, PacketKind::kRtp,
                           testing::make_rtp(2, 2, 80), net.now())
                  .ok());
  ASSERT_TRUE(s.send_media(first, PacketKind::kRtp, testing::make_rtp(1, 1, 80),
                           net.now())
                  .ok());
  ASSERT_TRUE(net.run_until(
      [&] { return srec.media.size() == 1 && crec.media.size() == 1; }));
  EXPECT_EQ(srec.media[0].from, first);  // under the session's key
  EXPECT_EQ(srec.media[0].packet, testing::make_rtp(2, 2, 80));
}

}  // namespace
}  // namespace dtls
