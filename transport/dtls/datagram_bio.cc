#include "transport/dtls/datagram_bio.h"

#include <algorithm>
#include <cstring>

#include "transport/dtls/dtls_record.h"

namespace dtls {

bool DatagramQueue::pop(std::vector<std::uint8_t>& out) {
  if (empty()) return false;
  std::vector<std::uint8_t>& front = out_[head_++];
  out.swap(front);
  // The caller's old buffer becomes a spare for the next write.
  if (recycle_ && spare_.size() < 32) {
    front.clear();
    spare_.push_back(std::move(front));
  }
  if (empty()) {
    out_.clear();
    head_ = 0;
    burst_open_ = false;
    if (!recycle_) out_.shrink_to_fit();
  }
  return true;
}

void DatagramQueue::stop_recycling() {
  recycle_ = false;
  std::vector<std::vector<std::uint8_t>>().swap(spare_);
  if (empty()) {
    out_.clear();
    out_.shrink_to_fit();
    head_ = 0;
  }
}

void DatagramQueue::note_records(std::span<const std::uint8_t> written) {
  // OpenSSL writes whole records (a flight's may share one write).
  while (auto h = parse_record_header(written)) {
    if (h->epoch > 0 && (!last_protected_sequence_ ||
                         h->sequence > *last_protected_sequence_)) {
      last_protected_sequence_ = h->sequence;
    }
    written = written.subspan(kRecordHeaderSize + h->length);
  }
}

void DatagramQueue::push(std::span<const std::uint8_t> datagram) {
  note_records(datagram);
  out_.emplace_back(datagram.begin(), datagram.end());
  burst_open_ = false;
  ++datagrams_written_;
  bytes_written_ += datagram.size();
}

struct DatagramBioMethods {
  static DatagramQueue* queue(BIO* b) {
    return static_cast<DatagramQueue*>(BIO_get_data(b));
  }

  static int write(BIO* b, const char* data, int len) {
    BIO_clear_retry_flags(b);
    DatagramQueue* q = queue(b);
    if (q == nullptr || len < 0) return -1;
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(data);
    q->note_records({bytes, static_cast<size_t>(len)});
    if (q->burst_limit_ != 0 && q->burst_open_ && !q->empty() &&
        q->out_.back().size() + static_cast<size_t>(len) <= q->burst_limit_) {
      q->out_.back().insert(q->out_.back().end(), bytes, bytes + len);
      q->bytes_written_ += static_cast<std::uint64_t>(len);
      return len;
    }
    std::vector<std::uint8_t> d;
    if (!q->spare_.empty()) {
      d.swap(q->spare_.back());
      q->spare_.pop_back();
    }
    d.assign(bytes, bytes + len);
    q->out_.push_back(std::move(d));
    q->burst_open_ = q->burst_limit_ != 0;
    ++q->datagrams_written_;
    q->bytes_written_ += static_cast<std::uint64_t>(len);
    return len;
  }

  static int read(BIO* b, char* buf, int len) {
    BIO_clear_retry_flags(b);
    DatagramQueue* q = queue(b);
    if (q == nullptr || !q->has_input_) {
      BIO_set_retry_read(b);
      return -1;
    }
    // A datagram larger than OpenSSL's buffer is truncated, as recvfrom would;
    // the record layer then rejects the damaged record.
    size_t n = std::min(q->input_.size(), static_cast<size_t>(len));
    std::memcpy(buf, q->input_.data(), n);
    q->has_input_ = false;
    return static_cast<int>(n);
  }

  static long ctrl(BIO* b, int cmd, long /*num*/, void* /*ptr*/) {
    DatagramQueue* q = queue(b);
    switch (cmd) {
      case BIO_CTRL_FLUSH:
      case BIO_CTRL_DGRAM_SET_CONNECTED:
      case BIO_CTRL_DGRAM_SET_PEER:
      case BIO_CTRL_DGRAM_SET_NEXT_TIMEOUT:
        return 1;
      case BIO_CTRL_PENDING:
        return q && q->has_input_ ? static_cast<long>(q->input_.size()) : 0;
      case BIO_CTRL_WPENDING:
        // Nothing waits inside the BIO: OpenSSL subtracts this from the MTU
        // budget.
        return 0;
      case BIO_CTRL_DGRAM_GET_MTU_OVERHEAD:
        // The configured MTU is the UDP payload size; no IP/UDP headers to
        // subtract here.
        return 0;
      case BIO_CTRL_DGRAM_QUERY_MTU:
      case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
      case BIO_CTRL_DGRAM_MTU_EXCEEDED:
      case BIO_CTRL_DGRAM_GET_PEER:  // DTLSv1_listen clears the address when
                                     // unsupported
      default:
        return 0;
    }
  }

  static int create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
  }

  static int destroy(BIO* b) {
    BIO_set_data(b, nullptr);
    return 1;
  }

  static BIO_METHOD* method() {
    static BIO_METHOD* m = [] {
      BIO_METHOD* bm = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                    "dtls datagram");
      BIO_meth_set_write(bm, write);
      BIO_meth_set_read(bm, read);
      BIO_meth_set_ctrl(bm, ctrl);
      BIO_meth_set_create(bm, create);
      BIO_meth_set_destroy(bm, destroy);
      return bm;
    }();  // thread-safe static init; lives for the process (OpenSSL has no
          // refcount on methods)
    return m;
  }
};

BIO* new_datagram_bio(DatagramQueue* queue) {
  BIO* b = BIO_new(DatagramBioMethods::method());
  if (b != nullptr) BIO_set_data(b, queue);
  return b;
}

}  // namespace dtls
