#include "transport/dtls/record_guard.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "tests/testing/record_bytes.h"

namespace dtls {
namespace {

using Bytes = std::vector<std::uint8_t>;

constexpr std::uint16_t kDtls12 = 0xFEFD;

Bytes record(std::uint8_t type, std::uint16_t epoch, std::uint64_t seq,
             const Bytes& body, std::uint16_t version = kDtls12) {
  return testing::dtls_record_bytes(type, version, epoch, seq, body);
}

Bytes fragment(std::uint8_t type, std::uint32_t message_length,
               std::uint32_t offset, const Bytes& bytes) {
  return testing::handshake_fragment(type, message_length, 1, offset, bytes);
}

Bytes concat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

RecordGuard::ReadState handshaking() {
  RecordGuard::ReadState s;
  s.min_protected_length = 24;  // AES-GCM: explicit nonce + tag
  s.max_handshake_message = 102400;
  return s;
}

RecordGuard::ReadState open() {
  RecordGuard::ReadState s = handshaking();
  s.open = true;
  s.version = kDtls12;
  return s;
}

// Runs `datagram` through a fresh guard; returns how many records passed.
struct GuardRun {
  RecordDropStats stats;
  RecordGuard guard{stats};
  std::vector<RecordHeader> passed;
  size_t feed(const Bytes& datagram, const RecordGuard::ReadState& state) {
    size_t before = passed.size();
    guard.filter(
        datagram, [&] { return state; },
        [&](const RecordGuard::Record& r) { passed.push_back(r.header); });
    return passed.size() - before;
  }
};

const Bytes kGcmRecord(40, 0xAB);  // a plausible protected body

TEST(RecordGuard, ACorrectHandshakeFlightPasses) {
  GuardRun run;
  // The client's last flight as OpenSSL sends it: handshake messages, CCS,
  // then the Finished in epoch 1, all in one datagram.
  Bytes flight = concat({record(22, 0, 3, fragment(16, 66, 0, Bytes(66, 1))),
                         record(22, 0, 4, fragment(15, 72, 0, Bytes(72, 2))),
                         record(20, 0, 5, {1}), record(22, 1, 0, kGcmRecord)});
  EXPECT_EQ(run.feed(flight, handshaking()), 4u);
  EXPECT_EQ(run.stats.total(), 0u);
  // Fragments of a larger message, and a plaintext alert during the handshake
  // (a peer refusing our certificate).
  EXPECT_EQ(run.feed(record(22, 0, 6, fragment(11, 3000, 1000, Bytes(500, 3))),
                     handshaking()),
            1u);
  EXPECT_EQ(run.feed(record(21, 0, 7, {2, 42}), handshaking()), 1u);
  // DTLS 1.0 record versions are what a ClientHello often carries.
  EXPECT_EQ(run.feed(record(22, 0, 8, fragment(1, 10, 0, Bytes(10, 0)), 0xFEFF),
                     handshaking()),
            1u);
  EXPECT_EQ(run.stats.total(), 0u);
}

TEST(RecordGuard, OpenSessionTrafficPasses) {
  GuardRun run;
  EXPECT_EQ(run.feed(record(23, 1, 1, kGcmRecord), open()), 1u);
  EXPECT_EQ(run.feed(record(21, 1, 2, Bytes(26, 0)), open()), 1u);
  // A retransmitted Finished (epoch 1 handshake) makes OpenSSL resend ours.
  EXPECT_EQ(run.feed(record(22, 1, 3, kGcmRecord), open()), 1u);
  // The smallest record the cipher makes.
  EXPECT_EQ(run.feed(record(23, 1, 4, Bytes(24, 0)), open()), 1u);
  EXPECT_EQ(run.stats.total(), 0u);
}

struct DropCase {
  const char* what;
  Bytes datagram;
  bool open;
  RecordDrop reason;
};

TEST(RecordGuard, EachInvalidRecordIsDroppedWithItsReason) {
  const std::vector<DropCase> cases = {
      {"truncated header", Bytes{23, 0xFE, 0xFD, 0, 1}, true,
       RecordDrop::kMalformed},
      {"length past the datagram",
       [] {
         Bytes r = record(23, 1, 1, kGcmRecord);
         r.resize(r.size() - 1);
         return r;
       }(),
       true, RecordDrop::kMalformed},
      {"content type 24 (heartbeat)", record(24, 1, 1, kGcmRecord), true,
       RecordDrop::kUnknownType},
      {"content type 99", record(99, 0, 1, {1, 2}), false,
       RecordDrop::kUnknownType},
      {"content type 0", record(0, 0, 1, {}), false, RecordDrop::kUnknownType},
      {"version 0x0303 (TLS)", record(22, 0, 1, fragment(1, 0, 0, {}), 0x0303),
       false, RecordDrop::kBadVersion},
      {"DTLS 1.0 once 1.2 is agreed", record(23, 1, 1, kGcmRecord, 0xFEFF),
       true, RecordDrop::kBadVersion},
      {"DTLS 1.3's 0xFEFC", record(22, 0, 1, fragment(1, 0, 0, {}), 0xFEFC),
       false, RecordDrop::kBadVersion},
      {"epoch 2", record(23, 2, 1, kGcmRecord), true, RecordDrop::kBadEpoch},
      {"epoch 0xFFFF", record(22, 0xFFFF, 1, kGcmRecord), false,
       RecordDrop::kBadEpoch},
      {"the 17-byte AEAD record (4-byte body)", record(23, 1, 1, {1, 2, 3, 4}),
       true, RecordDrop::kTooShort},
      {"23 bytes of GCM", record(23, 1, 1, Bytes(23, 0)), true,
       RecordDrop::kTooShort},
      {"short epoch-1 handshake during the handshake",
       record(22, 1, 0, Bytes(8, 0)), false, RecordDrop::kTooShort},
      {"empty epoch-1 alert", record(21, 1, 0, {}), true,
       RecordDrop::kTooShort},
      {"protected over 2^14 + 2048", record(23, 1, 1, Bytes(18433, 0)), true,
       RecordDrop::kTooLong},
      {"plaintext over 2^14", record(22, 0, 1, Bytes(16385, 0)), false,
       RecordDrop::kTooLong},
      {"epoch-0 alert once open", record(21, 0, 9, {2, 40}), true,
       RecordDrop::kPlaintext},
      {"epoch-0 ClientHello once open",
       record(22, 0, 9, fragment(1, 4, 0, Bytes(4, 0))), true,
       RecordDrop::kPlaintext},
      {"epoch-0 application data", record(23, 0, 1, {1, 2, 3}), false,
       RecordDrop::kUnexpected},
      {"epoch-1 ChangeCipherSpec", record(20, 1, 1, kGcmRecord), true,
       RecordDrop::kUnexpected},
      {"alert of three bytes", record(21, 0, 1, {2, 40, 0}), false,
       RecordDrop::kMalformed},
      {"alert of level 3", record(21, 0, 1, {3, 40}), false,
       RecordDrop::kMalformed},
      {"ChangeCipherSpec of 2", record(20, 0, 1, {2}), false,
       RecordDrop::kMalformed},
      {"ChangeCipherSpec of two bytes", record(20, 0, 1, {1, 1}), false,
       RecordDrop::kMalformed},
      {"handshake header cut short", record(22, 0, 1, Bytes(11, 0)), false,
       RecordDrop::kMalformed},
      {"fragment longer than its record",
       [] {
         Bytes f = fragment(11, 100, 0, Bytes(50, 0));
         f.resize(f.size() - 10);
         return record(22, 0, 1, f);
       }(),
       false, RecordDrop::kMalformed},
      {"fragment past its message",
       record(22, 0, 1, fragment(11, 100, 90, Bytes(20, 0))), false,
       RecordDrop::kMalformed},
      {"message above the limit",
       record(22, 0, 1, fragment(11, 200000, 0, Bytes(10, 0))), false,
       RecordDrop::kMalformed},
      {"HelloRequest with a body", record(22, 0, 1, fragment(0, 2, 0, {0, 0})),
       false, RecordDrop::kMalformed},
      {"a good fragment then garbage in one record",
       record(22, 0, 1, concat({fragment(14, 0, 0, {}), Bytes{1, 2, 3}})),
       false, RecordDrop::kMalformed},
  };
  for (const DropCase& c : cases) {
    GuardRun run;
    EXPECT_EQ(run.feed(c.datagram, c.open ? open() : handshaking()), 0u)
        << c.what;
    EXPECT_EQ(run.stats[c.reason], 1u) << c.what;
    EXPECT_EQ(run.stats.total(), 1u) << c.what;
  }
}

// A correct peer's late ClientHello (a retransmission overtaken by the rest
// of the handshake) or HelloVerifyRequest carries record version DTLS 1.0:
// once open it is a stale plaintext record like the rest of its flight, not a
// bad version (the lossy-link test met both; they were counted as
// bad_version).
TEST(RecordGuard, LateDtls10HandshakeRecordsOnceOpenArePlaintext) {
  GuardRun run;
  const Bytes client_hello =
      record(22, 0, 1, fragment(1, 20, 0, Bytes(20, 0)), 0xFEFF);
  const Bytes hello_verify =
      record(22, 0, 0, fragment(3, 3, 0, {0xFE, 0xFF, 0}), 0xFEFF);
  EXPECT_EQ(run.feed(client_hello, open()), 0u);
  EXPECT_EQ(run.feed(hello_verify, open()), 0u);
  EXPECT_EQ(run.stats[RecordDrop::kPlaintext], 2u);
  EXPECT_EQ(run.stats.total(), 2u);
  // A version no DTLS 1.0/1.2 peer sends is still a bad version, in either
  // epoch, and so is a protected record not of the negotiated version.
  EXPECT_EQ(run.feed(record(22, 0, 2, fragment(1, 0, 0, {}), 0x0303), open()),
            0u);
  EXPECT_EQ(run.feed(record(23, 1, 3, kGcmRecord, 0xFEFF), open()), 0u);
  EXPECT_EQ(run.feed(record(23, 2, 3, kGcmRecord, 0xFEFF), open()), 0u);
  EXPECT_EQ(run.stats[RecordDrop::kBadVersion], 3u);
  // Before the handshake is over, a DTLS 1.0 ClientHello passes.
  EXPECT_EQ(run.feed(client_hello, handshaking()), 1u);
}

TEST(RecordGuard, OneBadRecordDoesNotTakeTheDatagramsOthers) {
  GuardRun run;
  Bytes datagram =
      concat({record(23, 1, 1, kGcmRecord), record(99, 1, 2, kGcmRecord),
              record(23, 1, 3, {1, 2, 3, 4}), record(23, 1, 4, kGcmRecord)});
  EXPECT_EQ(run.feed(datagram, open()), 2u);
  ASSERT_EQ(run.passed.size(), 2u);
  EXPECT_EQ(run.passed[0].sequence, 1u);
  EXPECT_EQ(run.passed[1].sequence, 4u);
  EXPECT_EQ(run.stats[RecordDrop::kUnknownType], 1u);
  EXPECT_EQ(run.stats[RecordDrop::kTooShort], 1u);
  // A record that runs past the datagram ends it: what follows cannot be
  // framed, but what came before passed.
  Bytes cut =
      concat({record(23, 1, 5, kGcmRecord),
              Bytes{23, 0xFE, 0xFD, 0, 1, 0, 0, 0, 0, 0, 6, 0xFF, 0xFF}});
  EXPECT_EQ(run.feed(cut, open()), 1u);
  EXPECT_EQ(run.stats[RecordDrop::kMalformed], 1u);
}

TEST(RecordGuard, ReplayWindowMovesOnlyWithAuthenticatedRecords) {
  GuardRun run;
  // Nothing authenticated yet: any sequence number passes.
  EXPECT_EQ(run.feed(record(23, 1, 10, kGcmRecord), open()), 1u);
  run.guard.authenticated(10);
  // The same record again, and one older than the window.
  EXPECT_EQ(run.feed(record(23, 1, 10, kGcmRecord), open()), 0u);
  run.guard.authenticated(200);
  EXPECT_EQ(run.feed(record(23, 1, 136, kGcmRecord), open()), 0u);
  EXPECT_EQ(run.stats[RecordDrop::kReplayed], 2u);
  // Within the window and not seen: passes (reordering), and once
  // authenticated it is a replay.
  EXPECT_EQ(run.feed(record(23, 1, 137, kGcmRecord), open()), 1u);
  run.guard.authenticated(137);
  EXPECT_EQ(run.feed(record(23, 1, 137, kGcmRecord), open()), 0u);
  EXPECT_EQ(run.feed(record(23, 1, 199, kGcmRecord), open()), 1u);
  // A forged record with a huge sequence number passes the guard (OpenSSL
  // will fail its tag) but, never authenticated, does not move the window:
  // the peer's next record still gets through.
  EXPECT_EQ(run.feed(record(23, 1, 0xFFFFFFFFFFFF, kGcmRecord), open()), 1u);
  EXPECT_EQ(run.feed(record(23, 1, 201, kGcmRecord), open()), 1u);
  EXPECT_EQ(run.stats[RecordDrop::kReplayed], 3u);
}

TEST(RecordGuard, ProtectedRecordsBeforeTheEpochChangeAreBounded) {
  GuardRun run;
  for (unsigned i = 0; i < RecordGuard::kMaxEarlyProtectedRecords; ++i)
    EXPECT_EQ(run.feed(record(22, 1, i, kGcmRecord), handshaking()), 1u);
  EXPECT_EQ(run.feed(record(22, 1, 99, kGcmRecord), handshaking()), 0u);
  EXPECT_EQ(run.stats[RecordDrop::kEpochFlood], 1u);
  // Plaintext handshake records are not limited by it.
  EXPECT_EQ(run.feed(record(22, 0, 1, fragment(14, 0, 0, {})), handshaking()),
            1u);
  // Once OpenSSL reads epoch 1 (the peer's ChangeCipherSpec processed), the
  // Finished is read at once, not buffered: not limited.
  RecordGuard::ReadState changed = handshaking();
  changed.epoch = 1;
  EXPECT_EQ(run.feed(record(22, 1, 100, kGcmRecord), changed), 1u);
  // Nor once open.
  EXPECT_EQ(run.feed(record(23, 1, 101, kGcmRecord), open()), 1u);
}

// The state is asked for each record: a ChangeCipherSpec earlier in the same
// datagram moves OpenSSL to epoch 1 before the Finished that follows it.
TEST(RecordGuard, EachRecordIsJudgedOnTheStateBeforeIt) {
  RecordDropStats stats;
  RecordGuard guard(stats);
  for (unsigned i = 0; i < RecordGuard::kMaxEarlyProtectedRecords; ++i) {
    guard.filter(
        record(22, 1, i, kGcmRecord), [] { return handshaking(); },
        [](const RecordGuard::Record&) {});
  }
  RecordGuard::ReadState state = handshaking();
  std::vector<std::uint8_t> types;
  guard.filter(
      concat({record(20, 0, 5, {1}), record(22, 1, 40, kGcmRecord)}),
      [&] { return state; },
      [&](const RecordGuard::Record& r) {
        types.push_back(r.header.content_type);
        if (r.header.content_type == 20) state.epoch = 1;
      });
  EXPECT_EQ(types, (std::vector<std::uint8_t>{20, 22}));
  EXPECT_EQ(stats.total(), 0u);
}

TEST(RecordGuard, DropsAreAddedToSharedTotals) {
  RecordDropStats endpoint;
  GuardRun a, b;
  a.guard.set_shared_stats(&endpoint);
  b.guard.set_shared_stats(&endpoint);
  a.feed(record(99, 1, 1, kGcmRecord), open());
  b.feed(record(23, 1, 1, {1}), open());
  b.feed(record(21, 0, 1, {2, 10}), open());
  EXPECT_EQ(a.stats.total(), 1u);
  EXPECT_EQ(b.stats.total(), 2u);
  EXPECT_EQ(endpoint.total(), 3u);
  EXPECT_EQ(endpoint[RecordDrop::kUnknownType], 1u);
  EXPECT_EQ(endpoint[RecordDrop::kTooShort], 1u);
  EXPECT_EQ(endpoint[RecordDrop::kPlaintext], 1u);
}

TEST(RecordGuard, EveryReasonHasAStableName) {
  EXPECT_EQ(record_drop_name(RecordDrop::kMalformed), "malformed");
  EXPECT_EQ(record_drop_name(RecordDrop::kUnknownType), "unknown_type");
  EXPECT_EQ(record_drop_name(RecordDrop::kBadVersion), "bad_version");
  EXPECT_EQ(record_drop_name(RecordDrop::kBadEpoch), "bad_epoch");
  EXPECT_EQ(record_drop_name(RecordDrop::kTooShort), "too_short");
  EXPECT_EQ(record_drop_name(RecordDrop::kTooLong), "too_long");
  EXPECT_EQ(record_drop_name(RecordDrop::kPlaintext),
            "plaintext_after_handshake");
  EXPECT_EQ(record_drop_name(RecordDrop::kUnexpected), "unexpected_type");
  EXPECT_EQ(record_drop_name(RecordDrop::kReplayed), "replayed");
  EXPECT_EQ(record_drop_name(RecordDrop::kEpochFlood), "epoch_flood");
}

}  // namespace
}  // namespace dtls
