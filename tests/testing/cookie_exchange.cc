#include "tests/testing/cookie_exchange.h"

#include "transport/dtls/dtls_record.h"

namespace dtls::testing {

std::span<const std::uint8_t> hello_verify_cookie(
    std::span<const std::uint8_t> d) {
  // record header | handshake header | server_version(2) | cookie<0..255>
  const size_t at = kRecordHeaderSize + kHandshakeHeaderSize + 2;
  if (d.size() <= at || d[0] != kContentHandshake ||
      d[kRecordHeaderSize] != kHandshakeHelloVerifyRequest ||
      d.size() < at + 1 + d[at]) {
    return {};
  }
  return d.subspan(at + 1, d[at]);
}

std::vector<std::uint8_t> client_hello_with_cookie(
    std::span<const std::uint8_t> hello, std::span<const std::uint8_t> cookie) {
  // ClientHello body: client_version(2) random(32) session_id<0..32> cookie
  const size_t body = kRecordHeaderSize + kHandshakeHeaderSize;
  const size_t session_len_at = body + 2 + 32;
  const size_t cookie_len_at = session_len_at + 1 + hello[session_len_at];
  std::vector<std::uint8_t> out(hello.begin(), hello.begin() + cookie_len_at);
  out.push_back(static_cast<std::uint8_t>(cookie.size()));
  out.insert(out.end(), cookie.begin(), cookie.end());
  out.insert(out.end(), hello.begin() + cookie_len_at + 1, hello.end());
  auto put = [&](size_t at, int width, size_t v) {
    for (int i = width - 1; i >= 0; --i, v >>= 8)
      out[at + static_cast<size_t>(i)] = static_cast<std::uint8_t>(v);
  };
  const size_t fragment = out.size() - body;
  put(11, 2, out.size() - kRecordHeaderSize);  // record length
  put(14, 3, fragment);                        // message length
  put(17, 2, 1);                               // message_seq
  put(22, 3, fragment);                        // fragment length
  put(5, 6, 1);                                // record sequence number
  return out;
}

}  // namespace dtls::testing
