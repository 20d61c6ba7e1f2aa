#include "tools/http_server.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/testing/uv_test_loop.h"

namespace dtls::tools {
namespace {

// A client on loopback: sends `request` and reads until the server closes.
std::string exchange(testing::UvTestLoop& loop, std::uint16_t port,
                     const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(port);
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&sin), sizeof(sin)), 0);
  EXPECT_EQ(send(fd, request.data(), request.size(), 0),
            static_cast<ssize_t>(request.size()));
  std::string response;
  EXPECT_TRUE(loop.run_until([&] {
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n > 0) response.append(buf, static_cast<size_t>(n));
    return n == 0;
  }));
  close(fd);
  return response;
}

TEST(HttpParse, RequestsComeWholeOrNotAtAll) {
  const std::string req =
      "POST /offer?round=2&x=y HTTP/1.1\r\nHost: a\r\ncontent-length: 5\r\n"
      "\r\nhello";
  for (size_t n = 0; n < req.size(); ++n) {
    auto partial = parse_http_request(req.substr(0, n));
    ASSERT_TRUE(partial.ok()) << n;
    EXPECT_FALSE(partial->has_value()) << n;
  }
  auto r = parse_http_request(req);
  ASSERT_TRUE(r.ok() && r->has_value());
  EXPECT_EQ((*r)->method, "POST");
  EXPECT_EQ((*r)->path, "/offer");
  EXPECT_EQ(query_value((*r)->query, "round"), "2");
  EXPECT_EQ(query_value((*r)->query, "x"), "y");
  EXPECT_EQ(query_value((*r)->query, "z"), "");
  EXPECT_EQ((*r)->body, "hello");
  EXPECT_EQ(parse_http_request("nonsense\r\n\r\n").error().code,
            "ERR_HTTP_BAD_REQUEST");
  EXPECT_EQ(parse_http_request("POST / HTTP/1.1\r\nContent-Length: 99999999"
                               "\r\n\r\n")
                .error()
                .code,
            "ERR_HTTP_TOO_LARGE");
  EXPECT_EQ(parse_http_request(std::string(20000, 'a')).error().code,
            "ERR_HTTP_TOO_LARGE");
}

TEST(HttpServer, AnswersOverLoopback) {
  testing::UvTestLoop loop;
  std::string seen_body;
  auto server =
      HttpServer::start(loop.get(), "127.0.0.1", 0, [&](const HttpRequest& r) {
        seen_body = r.body;
        return HttpResponse{200, "text/plain", "got " + r.path};
      });
  ASSERT_TRUE(server.ok()) << server.error().to_string();
  const std::string response =
      exchange(loop, (*server)->port(),
               "POST /x HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
  EXPECT_EQ(seen_body, "abc");
  EXPECT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response;
  EXPECT_NE(response.find("Content-Length: 6\r\n"), std::string::npos);
  EXPECT_NE(response.find("\r\n\r\ngot /x"), std::string::npos);
  (*server)->close();
}

TEST(HttpServer, BadRequestsGet400) {
  testing::UvTestLoop loop;
  auto server =
      HttpServer::start(loop.get(), "127.0.0.1", 0,
                        [](const HttpRequest&) { return HttpResponse{}; });
  ASSERT_TRUE(server.ok());
  const std::string response =
      exchange(loop, (*server)->port(), "garbage\r\n\r\n");
  EXPECT_EQ(response.rfind("HTTP/1.1 400", 0), 0u) << response;
  (*server)->close();
  EXPECT_FALSE(
      HttpServer::start(loop.get(), "not-an-ip", 0, [](const HttpRequest&) {
        return HttpResponse{};
      }).ok());
}

}  // namespace
}  // namespace dtls::tools
