#pragma once
// A small HTTP/1.1 server over libmicrohttpd: a pool of threads calls one handler per complete
// request. Before the handler runs, the server refuses (as problem+json) bodies larger than the
// limit (413) and requests whose framing is ambiguous: Content-Length beside Transfer-Encoding,
// or a Transfer-Encoding other than chunked (400, and the connection is closed). Connections are
// bounded in number, per client address and in idle time while a request is read.

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "bulwark/core/result.h"
#include "bulwark/core/time.h"

namespace bulwark::server {

struct HttpRequest {
  std::string method;
  std::string path;                            // without the query string
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // names lower-case; the last of repeated ones
  std::set<std::string> repeated;              // header names (lower-case) sent more than once
  std::string body;
  size_t target_bytes = 0;  // length of the request target (path and query)
  size_t header_bytes = 0;  // length of the header fields
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

// Called from the server's threads, concurrently: it must be thread-safe.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpLimits {
  size_t max_body_bytes = 1 << 20;
  unsigned max_connections = 1024;
  unsigned max_connections_per_client = 64;
  unsigned idle_timeout_seconds = 30;
  unsigned threads = 2;
};

class HttpServer {
 public:
  // Starts listening on `listen` ("127.0.0.1:8080"; port 0 picks a free one). Errors: a bad
  // address, a port in use.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& listen, HttpHandler handler,
                                                   HttpLimits limits);
  // Drains: answers requests begun from now on with 503 (and "Connection: close"), lets the
  // requests in progress finish and sends their responses (each with "Connection: close"),
  // waiting up to `grace` for them. True when none is left in progress.
  bool Drain(TimeNs grace);
  // Every response sent so far, by status: the handler's and the server's own refusals
  // (ambiguous framing, bodies over the limit). Thread-safe.
  std::map<int, uint64_t> requests_by_status() const;
  ~HttpServer();  // closes every connection, after the handlers running have returned
  int port() const { return port_; }

 private:
  HttpServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace bulwark::server
