#include "tests/testing/record_bytes.h"

namespace dtls::testing {
namespace {

void put(std::vector<std::uint8_t>& b, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

}  // namespace

std::vector<std::uint8_t> dtls_record_bytes(
    std::uint8_t type, std::uint16_t version, std::uint16_t epoch,
    std::uint64_t sequence, const std::vector<std::uint8_t>& body) {
  std::vector<std::uint8_t> r = {type};
  put(r, version, 2);
  put(r, epoch, 2);
  put(r, sequence, 6);
  put(r, body.size(), 2);
  r.insert(r.end(), body.begin(), body.end());
  return r;
}

std::vector<std::uint8_t> handshake_fragment(
    std::uint8_t type, std::uint32_t message_length, std::uint16_t message_seq,
    std::uint32_t offset, const std::vector<std::uint8_t>& bytes) {
  std::vector<std::uint8_t> f = {type};
  put(f, message_length, 3);
  put(f, message_seq, 2);
  put(f, offset, 3);
  put(f, bytes.size(), 3);
  f.insert(f.end(), bytes.begin(), bytes.end());
  return f;
}

}  // namespace dtls::testing
