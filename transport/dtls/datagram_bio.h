// An OpenSSL BIO with datagram semantics over memory, for the sans-I/O DTLS
// core.
//
// OpenSSL 3.0 has no datagram memory BIO: BIO_s_mem would merge records written
// separately and split reads at arbitrary points. Here every BIO_write is
// exactly one outgoing datagram (or, within a Burst, joins the one before it
// up to the MTU) and every BIO_read returns exactly one incoming datagram (the
// one the caller set), so record boundaries and the configured MTU hold on the
// wire.
#ifndef DTLS_SRTP_TRANSPORT_DTLS_DATAGRAM_BIO_H_
#define DTLS_SRTP_TRANSPORT_DTLS_DATAGRAM_BIO_H_

#include <openssl/bio.h>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace dtls {

// The memory behind one BIO: the datagram being read and the datagrams written.
class DatagramQueue {
 public:
  // The datagram the next BIO_read returns (once). The bytes must outlive the
  // read.
  void set_input(std::span<const std::uint8_t> datagram) {
    input_ = datagram;
    has_input_ = true;
  }
  void clear_input() { has_input_ = false; }
  bool has_input() const { return has_input_; }

  // Datagrams written by OpenSSL, oldest first.
  bool empty() const { return head_ == out_.size(); }
  size_t size() const { return out_.size() - head_; }
  // Moves the oldest written datagram into `out` (reusing its capacity).
  bool pop(std::vector<std::uint8_t>& out);

  // Writes made while a Burst lives join the burst's last datagram while the
  // two fit in `limit` bytes, instead of each starting one. RFC 6347 §4.1.1
  // allows several records per datagram, and OpenSSL packs a flight's first
  // transmission so (its buffering BIO), but 3.0 flushes after every
  // retransmitted message (dtls1_retransmit_message): a flight resent on
  // timeout would otherwise leave as one datagram per message, each lost on
  // its own (five for a client's certificate flight).
  class Burst {
   public:
    Burst(DatagramQueue& q, size_t limit) : q_(q) {
      q_.burst_limit_ = limit;
      q_.burst_open_ = false;
    }
    ~Burst() { q_.burst_limit_ = 0; }
    Burst(const Burst&) = delete;
    Burst& operator=(const Burst&) = delete;

   private:
    DatagramQueue& q_;
  };

  // From now on popped buffers are not recycled, and the spares are freed:
  // for a session whose handshake is over and that rarely writes again.
  void stop_recycling();
  size_t spare_count() const { return spare_.size(); }
  std::uint64_t datagrams_written() const { return datagrams_written_; }
  // A datagram of records protected outside OpenSSL (RecordCipher), queued
  // like OpenSSL's.
  void push(std::span<const std::uint8_t> datagram);
  // The highest sequence number of a protected record (epoch 1 or later)
  // written so far; nullopt before any. A record protected outside OpenSSL
  // takes a higher one: the peer's replay window has seen OpenSSL's, and a
  // ChaCha20-Poly1305 nonce is the sequence number.
  std::optional<std::uint64_t> last_protected_sequence() const {
    return last_protected_sequence_;
  }
  std::uint64_t bytes_written() const { return bytes_written_; }

 private:
  friend struct DatagramBioMethods;

  std::span<const std::uint8_t> input_;
  bool has_input_ = false;
  // out_[head_..] wait; the vector is reset once they have all been popped (a
  // std::deque would hold ~600 bytes per association even when empty).
  std::vector<std::vector<std::uint8_t>> out_;
  size_t head_ = 0;
  std::vector<std::vector<std::uint8_t>>
      spare_;  // recycled buffers: no steady-state allocation
  bool recycle_ = true;
  size_t burst_limit_ = 0;   // 0: no Burst
  bool burst_open_ = false;  // out_.back() was written in this Burst
  std::uint64_t datagrams_written_ = 0;
  std::uint64_t bytes_written_ = 0;
  std::optional<std::uint64_t> last_protected_sequence_;

  void note_records(std::span<const std::uint8_t> written);
};

// A new BIO over `queue` (not owned; it must outlive the BIO). Returns null on
// allocation failure. Hand it to SSL_set_bio as both read and write BIO.
BIO* new_datagram_bio(DatagramQueue* queue);

}  // namespace dtls

#endif  // DTLS_SRTP_TRANSPORT_DTLS_DATAGRAM_BIO_H_
