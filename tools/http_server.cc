#include "tools/http_server.h"

#include <algorithm>
#include <cctype>
#include <optional>

#include "transport/base/peer_address.h"

namespace dtls::tools {
namespace {

constexpr size_t kMaxRequest = 1 << 20;
constexpr int kMaxConnections = 64;

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 413:
      return "Payload Too Large";
    default:
      return "Error";
  }
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

}  // namespace

std::string query_value(const std::string& query, const std::string& name) {
  size_t pos = 0;
  while (pos <= query.size()) {
    size_t end = query.find('&', pos);
    if (end == std::string::npos) end = query.size();
    const std::string part = query.substr(pos, end - pos);
    const size_t eq = part.find('=');
    if (part.substr(0, eq) == name)
      return eq == std::string::npos ? "" : part.substr(eq + 1);
    pos = end + 1;
  }
  return "";
}

Result<std::optional<HttpRequest>> parse_http_request(const std::string& data) {
  const size_t head_end = data.find("\r\n\r\n");
  if (head_end == std::string::npos) {
    if (data.size() > 16384)
      return make_error("ERR_HTTP_TOO_LARGE", "request header over 16 KiB");
    return std::optional<HttpRequest>();
  }
  HttpRequest r;
  const size_t line_end = data.find("\r\n");
  const std::string line = data.substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.find(' ', sp1 == std::string::npos ? 0 : sp1 + 1);
  if (sp1 == std::string::npos || sp2 == std::string::npos ||
      line.compare(sp2 + 1, 5, "HTTP/") != 0) {
    return make_error("ERR_HTTP_BAD_REQUEST", "bad request line: " + line);
  }
  r.method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const size_t q = target.find('?');
  r.path = target.substr(0, q);
  if (q != std::string::npos) r.query = target.substr(q + 1);
  size_t content_length = 0;
  size_t pos = line_end + 2;
  while (pos < head_end) {
    size_t end = data.find("\r\n", pos);
    const std::string header = data.substr(pos, end - pos);
    pos = end + 2;
    const size_t colon = header.find(':');
    if (colon == std::string::npos) continue;
    if (lower(header.substr(0, colon)) == "content-length") {
      try {
        content_length = std::stoul(header.substr(colon + 1));
      } catch (...) {
        return make_error("ERR_HTTP_BAD_REQUEST", "bad Content-Length");
      }
      if (content_length > kMaxRequest)
        return make_error("ERR_HTTP_TOO_LARGE", "body over 1 MiB");
    }
  }
  if (data.size() - (head_end + 4) < content_length)
    return std::optional<HttpRequest>();
  r.body = data.substr(head_end + 4, content_length);
  return std::optional<HttpRequest>(std::move(r));
}

struct HttpServer::Connection {
  uv_tcp_t tcp{};
  uv_write_t write{};
  HttpServer* server = nullptr;
  std::string in;
  std::string out;
  bool responded = false;
  Connection* next = nullptr;
  Connection* prev = nullptr;

  void unlink() {
    if (prev) prev->next = next;
    if (next) next->prev = prev;
    if (server->first_ == this) server->first_ = next;
    prev = next = nullptr;
  }
  void close() {
    auto* h = reinterpret_cast<uv_handle_t*>(&tcp);
    if (!uv_is_closing(h)) uv_close(h, on_close_conn);
  }
  static void on_close_conn(uv_handle_t* h) {
    auto* c = static_cast<Connection*>(h->data);
    HttpServer* s = c->server;
    c->unlink();
    delete c;
    s->connections_--;
    if (s->closing_) maybe_free(s);
  }
  void respond(const HttpResponse& r) {
    responded = true;
    out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) +
          "\r\nContent-Type: " + r.content_type +
          "\r\nContent-Length: " + std::to_string(r.body.size()) +
          "\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n" + r.body;
    uv_buf_t buf = uv_buf_init(out.data(), static_cast<unsigned>(out.size()));
    write.data = this;
    if (uv_write(&write, reinterpret_cast<uv_stream_t*>(&tcp), &buf, 1,
                 [](uv_write_t* w, int) {
                   static_cast<Connection*>(w->data)->close();
                 }) != 0) {
      close();
    }
  }
};

Result<HttpServer*> HttpServer::start(uv_loop_t* loop, const std::string& host,
                                      std::uint16_t port, Handler handler) {
  auto addr = PeerAddress::parse(host, port);
  if (!addr.ok()) return addr.error();
  auto* s = new HttpServer();
  s->handler_ = std::move(handler);
  uv_tcp_init(loop, &s->tcp_);
  s->tcp_.data = s;
  int r = uv_tcp_bind(&s->tcp_, addr->sockaddr_ptr(), 0);
  if (r == 0)
    r = uv_listen(reinterpret_cast<uv_stream_t*>(&s->tcp_), 16, on_connection);
  if (r != 0) {
    s->close();
    return make_error(
        "ERR_SOCKET_BIND",
        "cannot listen on " + addr->to_string() + ": " + uv_strerror(r));
  }
  sockaddr_storage ss{};
  int len = sizeof(ss);
  uv_tcp_getsockname(&s->tcp_, reinterpret_cast<sockaddr*>(&ss), &len);
  s->port_ =
      PeerAddress::from_sockaddr(reinterpret_cast<sockaddr*>(&ss)).port();
  return s;
}

void HttpServer::on_connection(uv_stream_t* server, int status) {
  auto* s = static_cast<HttpServer*>(server->data);
  if (status < 0 || s->closing_) return;
  auto* c = new Connection();
  c->server = s;
  uv_tcp_init(server->loop, &c->tcp);
  c->tcp.data = c;
  s->connections_++;
  c->next = s->first_;
  if (s->first_) s->first_->prev = c;
  s->first_ = c;
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0 ||
      s->connections_ > kMaxConnections) {
    c->close();
    return;
  }
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->tcp),
      [](uv_handle_t*, size_t suggested, uv_buf_t* buf) {
        buf->base = new char[suggested];
        buf->len = suggested;
      },
      [](uv_stream_t* stream, ssize_t n, const uv_buf_t* buf) {
        auto* conn = static_cast<Connection*>(stream->data);
        if (n > 0 && !conn->responded) conn->in.append(buf->base, n);
        delete[] buf->base;
        if (conn->responded) return;
        if (n < 0) {
          conn->close();
          return;
        }
        auto parsed = parse_http_request(conn->in);
        if (!parsed.ok()) {
          conn->respond(
              {parsed.error().code == "ERR_HTTP_TOO_LARGE" ? 413 : 400,
               "text/plain", std::string(parsed.error().text())});
          return;
        }
        if (!parsed->has_value()) return;
        uv_read_stop(stream);
        conn->respond(conn->server->handler_(**parsed));
      });
}

void HttpServer::close() {
  if (!closing_) {
    closing_ = true;
    for (Connection* c = first_; c != nullptr; c = c->next) c->close();
    auto* h = reinterpret_cast<uv_handle_t*>(&tcp_);
    if (h->loop != nullptr && !uv_is_closing(h)) {
      uv_close(h, [](uv_handle_t* handle) {
        auto* self = static_cast<HttpServer*>(handle->data);
        self->listener_closed_ = true;
        maybe_free(self);
      });
    }
  }
}

// Frees the server once the listener and every connection have closed.
void HttpServer::maybe_free(HttpServer* self) {
  if (self->listener_closed_ && self->connections_ == 0) delete self;
}

}  // namespace dtls::tools
