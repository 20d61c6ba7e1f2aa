// Untrusted bytes at the stateless front door. Invariants checked on every
// input: parsed spans lie inside the input, and the gate never answers with
// more bytes than came in.
#include <array>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "transport/dtls/cookie_gate.h"
#include "transport/dtls/dtls_record.h"
#include "transport/endpoint/demux.h"

namespace {

bool inside(std::span<const std::uint8_t> part, const std::uint8_t* data,
            size_t size) {
  return part.empty() ||
         (part.data() >= data && part.data() + part.size() <= data + size);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, size_t size) {
  static dtls::CookieGate gate(
      std::array<std::uint8_t, dtls::CookieGate::kSecretSize>{1, 2, 3});
  static const std::array<std::uint8_t, 7> peer = {4, 127, 0, 0, 1, 0x13, 0x88};
  std::span<const std::uint8_t> in(data, size);
  dtls::classify(in);
  dtls::parse_record_header(in);
  if (auto p = dtls::parse_client_hello_prefix(in)) {
    if (p->random.size() != 32 || p->session_id.size() > 32 ||
        p->cookie.size() > 255 || !inside(p->random, data, size) ||
        !inside(p->session_id, data, size) || !inside(p->cookie, data, size)) {
      std::abort();
    }
  }
  dtls::CookieGate::Decision d = gate.inspect(in, peer, dtls::TimePoint{});
  if (d.verdict == dtls::CookieGate::Verdict::kHelloVerify &&
      d.reply.size() > size)
    std::abort();
  if (d.verdict == dtls::CookieGate::Verdict::kAccept &&
      !inside(d.cookie, data, size)) {
    std::abort();
  }
  return 0;
}
