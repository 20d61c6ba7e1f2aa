// The record guard: every received DTLS record passes it before OpenSSL sees
// it (RFC 6347 §4.1.2.7: "invalid records SHOULD be silently discarded, thus
// preserving the association").
//
// Why our own: OpenSSL 3.0 answers several kinds of invalid record with a fatal
// alert that ends the association (an unknown content type, an undersized
// AEAD record on builds before 3.0.22, application data in epoch 0 during a
// handshake, a malformed handshake fragment or alert), and older 3.0 builds
// buffer records of a future epoch without bound. Anyone who can spoof the
// peer's address could end a call. Filtering here makes the behaviour the same
// on every OpenSSL 3.0 patch level.
//
// A correct peer's records are never dropped: everything refused here is
// either something no correct DTLS 1.0/1.2 peer sends at that point, or
// something OpenSSL would discard silently anyway (an epoch it cannot read).
// Sans-I/O and allocation-free: spans into the caller's datagram.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_RECORD_GUARD_H_
#define DTLS_SRTP_TRANSPORT_DTLS_RECORD_GUARD_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "transport/dtls/dtls_record.h"

namespace dtls {

// Why a record was dropped. Stable: the names are in stats and the README.
enum class RecordDrop : std::uint8_t {
  kMalformed,    // truncated header, length past the datagram, a handshake
                 // fragment, alert or ChangeCipherSpec that cannot parse
  kUnknownType,  // content type other than 20..23
  kBadVersion,   // not DTLS 1.0/1.2, or a protected record not of the
                 // negotiated version once open
  kBadEpoch,     // an epoch the association can never read (renegotiation is
                 // refused, so only 0 and 1 exist)
  kTooShort,     // protected record below the cipher's minimum expansion
  kTooLong,      // above 2^14 (plaintext) or 2^14 + 2048 (protected)
  kPlaintext,    // epoch 0 once the association is open
  kUnexpected,   // a type no correct peer sends in that epoch: application
                 // data in epoch 0, ChangeCipherSpec in epoch 1
  kReplayed,     // a protected sequence number already authenticated, or
                 // older than the replay window
  kEpochFlood,   // more protected records during the handshake than a
                 // correct peer sends (OpenSSL buffers them)
  kCount,
};

inline constexpr size_t kRecordDropReasons =
    static_cast<size_t>(RecordDrop::kCount);

// "malformed", "unknown_type", ... (snake_case, as in stats and the README).
std::string_view record_drop_name(RecordDrop reason);

struct RecordDropStats {
  std::array<std::uint64_t, kRecordDropReasons> by_reason{};

  std::uint64_t operator[](RecordDrop r) const {
    return by_reason[static_cast<size_t>(r)];
  }
  std::uint64_t total() const;
  RecordDropStats& operator+=(const RecordDropStats& other);
};

class RecordGuard {
 public:
  // Drops are counted in `stats` (the association's), which must outlive the
  // guard.
  explicit RecordGuard(RecordDropStats& stats) : drops_(stats) {}

  // What the association can read now.
  struct ReadState {
    // The handshake is complete: only epoch 1 is read (OpenSSL's read epoch
    // moved to 1 when it processed the peer's ChangeCipherSpec).
    bool open = false;
    // The epoch OpenSSL reads now: 0 until it has processed the peer's
    // ChangeCipherSpec, then 1. Records of the next epoch are buffered by
    // OpenSSL until then.
    std::uint16_t epoch = 0;
    // Once open, the negotiated record version (0xFEFD for DTLS 1.2).
    std::uint16_t version = 0;
    // The smallest protected (epoch 1) record the cipher in use can produce;
    // before a cipher is chosen, a bound safe for every one that may be (see
    // record_expansion.h).
    size_t min_protected_length = 0;
    // The largest handshake message OpenSSL accepts (its max_cert_list).
    size_t max_handshake_message = 0;
  };

  // A record the guard let through: the whole record (header included) as a
  // span of the caller's datagram, and its parsed header.
  struct Record {
    std::span<const std::uint8_t> bytes;
    RecordHeader header;
  };

  // Protected records that arrive before OpenSSL reads epoch 1, which it
  // buffers (older 3.0 builds without bound). A correct peer sends its
  // Finished once per transmission of its last flight (at most 13 with
  // OpenSSL's 12 retransmissions), and a server application data that
  // overtakes its flight; its ChangeCipherSpec, which moves OpenSSL to epoch
  // 1, comes in the same datagram as its Finished. Past this, dropped.
  // OpenSSL 3.0 keeps a whole read buffer (~17 KiB) per buffered record, so
  // this bounds what a peer can make a handshake hold (~136 KiB).
  static constexpr unsigned kMaxEarlyProtectedRecords = 8;
  // RFC 6347 §4.1.2.6: "a window size of 64 is preferred".
  static constexpr std::uint64_t kReplayWindow = 64;

  // Splits `datagram` into records and calls `accept(const Record&)` for each
  // one that passes, in order; the others are counted. `state()` gives the
  // ReadState for each record in turn (a record may change it: a
  // ChangeCipherSpec, a Finished). A record whose length runs past the
  // datagram ends the split (nothing after it can be framed).
  template <typename State, typename F>
  void filter(std::span<const std::uint8_t> datagram, State&& state,
              F&& accept) {
    while (!datagram.empty()) {
      auto header = parse_record_header(datagram);
      if (!header) {
        count(RecordDrop::kMalformed);
        return;
      }
      const size_t size = kRecordHeaderSize + header->length;
      Record record{datagram.first(size), *header};
      datagram = datagram.subspan(size);
      const ReadState now = state();
      if (auto reason = check(record, now)) {
        count(*reason);
        continue;
      }
      if (!now.open && header->epoch > now.epoch) early_protected_++;
      accept(record);
    }
  }

  // OpenSSL authenticated this protected record (it delivered its data or
  // alert): its sequence number enters the replay window. Only authenticated
  // records move the window, so a forged record with a high sequence number
  // cannot push a correct peer's records out of it.
  void authenticated(std::uint64_t sequence);

  // Drops are also added here (the endpoint's totals); may be null.
  void set_shared_stats(RecordDropStats* shared) { shared_ = shared; }

  // Why `record` must not reach OpenSSL; nullopt when it may.
  std::optional<RecordDrop> check(const Record& record,
                                  const ReadState& state) const;

 private:
  void count(RecordDrop reason);

  RecordDropStats& drops_;
  RecordDropStats* shared_ = nullptr;
  // Epoch-1 replay window (RFC 6347 §4.1.2.6) over authenticated records:
  // bit i set = max_authenticated_ - i was seen.
  std::uint64_t max_authenticated_ = 0;
  std::uint64_t window_ = 0;
  bool any_authenticated_ = false;
  unsigned early_protected_ = 0;
};

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_RECORD_GUARD_H_
