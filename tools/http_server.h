// A very small HTTP/1.1 server on libuv for local signalling: it serves a
// page to a browser on 127.0.0.1 and takes its offers and reports. One
// request per connection (Connection: close), bodies up to 1 MiB. Not for
// the open internet.
#ifndef DTLS_SRTP_TOOLS_HTTP_SERVER_H_
#define DTLS_SRTP_TOOLS_HTTP_SERVER_H_

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

#include "transport/base/error.h"

namespace dtls::tools {

struct HttpRequest {
  std::string method;  // "GET", "POST"
  std::string path;    // "/offer"
  std::string query;   // "round=1" (after '?')
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

// The value of `name` in a query string ("a=1&b=2"), or "".
std::string query_value(const std::string& query, const std::string& name);

// Parses one request from the bytes received so far: nullopt while more are
// needed; an error (ERR_HTTP_BAD_REQUEST, ERR_HTTP_TOO_LARGE) when they can
// never form one.
Result<std::optional<HttpRequest>> parse_http_request(const std::string& data);

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  // Listens on host:port (0 picks a free port) on `loop`.
  static Result<HttpServer*> start(uv_loop_t* loop, const std::string& host,
                                   std::uint16_t port, Handler handler);
  std::uint16_t port() const { return port_; }
  // Stops listening and drops open connections; the server frees itself once
  // libuv has closed its handles (run the loop).
  void close();

 private:
  struct Connection;
  HttpServer() = default;
  ~HttpServer() = default;
  static void on_connection(uv_stream_t* server, int status);
  static void maybe_free(HttpServer* self);

  uv_tcp_t tcp_{};
  Handler handler_;
  std::uint16_t port_ = 0;
  int connections_ = 0;
  bool closing_ = false;
  bool listener_closed_ = false;
  Connection* first_ = nullptr;  // open connections, a list
};

}  // namespace dtls::tools

#endif  // DTLS_SRTP_TOOLS_HTTP_SERVER_H_
