// SRTP protection beside its crypto floor (srtp/crypto_floor.h): for each
// profile and payload, our SrtpContext (libsrtp with our GCM cipher and HMAC)
// against the bare OpenSSL work on the same bytes, protect and unprotect.
//
// This VM's speed drifts by 10 % or more within seconds, which is as large
// as what is measured. So ours and the floor run in short paired slices, in
// turn (ours first in one slice, the floor first in the next), over the same
// packet ring, and each ratio is the median of the slices' ratios.
#ifndef DTLS_SRTP_TOOLS_BENCH_CRYPTO_FLOOR_BENCH_H_
#define DTLS_SRTP_TOOLS_BENCH_CRYPTO_FLOOR_BENCH_H_

#include <cstddef>
#include <string>
#include <vector>

#include "transport/base/error.h"

namespace dtls::bench {

// The goals, ours / floor: AEAD at most 1.15, AES-CM at most 1.1.
inline constexpr double kAeadFloorGoal = 1.15;
inline constexpr double kCmFloorGoal = 1.10;

struct CryptoFloorOptions {
  std::vector<std::string> profiles = {
      "SRTP_AES128_CM_SHA1_80", "SRTP_AES128_CM_SHA1_32",
      "SRTP_AEAD_AES_128_GCM", "SRTP_AEAD_AES_256_GCM"};
  std::vector<size_t> payloads = {200, 1200};
  int slices = 41;   // pairs of (ours, floor); 0 skips the phase
  int packets = 64;  // the ring: protected, then unprotected, in turn
  int rounds = 16;   // ring passes per slice and side
};

struct CryptoFloorPoint {
  std::string profile;
  size_t payload = 0;
  double goal = 0;
  // Medians over the slices, ns per packet.
  double ours_protect_ns = 0, floor_protect_ns = 0;
  double ours_unprotect_ns = 0, floor_unprotect_ns = 0;
  // Medians of the slices' ratios, ours / floor.
  double protect_ratio = 0, unprotect_ratio = 0;
  bool meets_goal() const {
    return protect_ratio <= goal && unprotect_ratio <= goal;
  }
};

struct CryptoFloorResult {
  CryptoFloorOptions options;
  std::vector<CryptoFloorPoint> points;
};

// ERR_INVALID_ARG_VALUE for an unknown profile or empty counts,
// ERR_SRTP_* if a packet of ours or the floor's fails to round-trip.
Result<CryptoFloorResult> run_crypto_floor_bench(const CryptoFloorOptions& o);

std::string to_crypto_floor_table(const CryptoFloorResult& r);
std::string crypto_floor_json(const CryptoFloorResult& r);

}  // namespace dtls::bench

#endif  // DTLS_SRTP_TOOLS_BENCH_CRYPTO_FLOOR_BENCH_H_
