#pragma once
// A small HTTP/1.1 server over libmicrohttpd: a pool of threads calls one handler per complete
// request. Request bodies larger than the limit are refused with 413 before the handler runs.

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "bulwark/core/result.h"

namespace bulwark::server {

struct HttpRequest {
  std::string method;
  std::string path;                            // without the query string
  std::map<std::string, std::string> query;    // decoded
  std::map<std::string, std::string> headers;  // names lower-case; the last of repeated ones
  std::set<std::string> repeated;              // header names (lower-case) sent more than once
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
};

// Called from the server's threads, concurrently: it must be thread-safe.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Starts listening on `listen` ("127.0.0.1:8080"; port 0 picks a free one) with `threads`
  // threads. Errors: a bad address, a port in use.
  static Result<std::unique_ptr<HttpServer>> Start(const std::string& listen, HttpHandler handler,
                                                   size_t max_body_bytes, unsigned threads = 2);
  ~HttpServer();  // stops: waits for requests in progress, refuses new ones
  int port() const { return port_; }

 private:
  HttpServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace bulwark::server
