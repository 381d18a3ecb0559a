#include "bulwark/server/http.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <map>
#include <mutex>

#include "bulwark/core/strings.h"

namespace bulwark::server {

namespace {

// Per connection: the request as it arrives.
struct Pending {
  HttpRequest request;
  bool too_large = false;
  std::string framing_error;  // the request's framing is ambiguous: refused before its body
};

MHD_Result CollectPair(void* target, MHD_ValueKind, const char* key, const char* value) {
  auto* request = static_cast<HttpRequest*>(target);
  std::string name = AsciiLower(key ? key : "");
  std::string text = value ? value : "";
  request->header_bytes += name.size() + text.size() + 4;  // "name: value\r\n"
  if (auto it = request->headers.find(name); it != request->headers.end()) {
    request->repeated.insert(name);
    if (name == "content-length" && it->second != text) request->repeated.insert("content-length!");
  }
  request->headers[name] = std::move(text);
  return MHD_YES;
}

// Why the body of `request` cannot be told apart from the next request (RFC 9112, 6.3), or
// empty. A proxy in front and this server must agree where a request ends.
std::string FramingError(const HttpRequest& request) {
  bool has_length = request.headers.count("content-length") > 0;
  auto te = request.headers.find("transfer-encoding");
  if (te != request.headers.end()) {
    if (has_length) return "Content-Length and Transfer-Encoding together";
    if (AsciiLower(Trim(te->second)) != "chunked" || request.repeated.count("transfer-encoding")) {
      return "a Transfer-Encoding other than chunked";
    }
  }
  if (request.repeated.count("content-length!")) return "two different Content-Length values";
  return {};
}

HttpResponse FramingProblem(const std::string& reason) {
  HttpResponse response;
  response.status = 400;
  response.content_type = "application/problem+json";
  response.body = fmt::format(
      R"({{"type":"about:blank","title":"Bad Request","status":400,"detail":"ambiguous message framing: {}"}})",
      reason);
  response.headers["Connection"] = "close";
  return response;
}

// Percent-decodes `uri` in place (the path and the query arguments), except "%00": a NUL byte
// would cut the C string the server hands on, so the request would reach another resource than
// the one named. It stays "%00", which names no resource; the service refuses it. Returns the
// new length.
size_t UnescapeKeepingNul(void*, MHD_Connection*, char* uri) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  size_t in = 0, out = 0;
  while (uri[in] != '\0') {
    if (uri[in] == '%' && uri[in + 1] != '\0' && uri[in + 2] != '\0') {
      int high = hex(uri[in + 1]), low = hex(uri[in + 2]);
      if (high >= 0 && low >= 0 && (high | low) != 0) {
        uri[out++] = static_cast<char>(high * 16 + low);
        in += 3;
        continue;
      }
    }
    uri[out++] = uri[in++];
  }
  uri[out] = '\0';
  return out;
}

MHD_Result CollectQuery(void* target, MHD_ValueKind, const char* key, const char* value) {
  auto* request = static_cast<HttpRequest*>(target);
  std::string name = key ? key : "";
  std::string text = value ? value : "";
  request->target_bytes += name.size() + text.size() + 2;  // "?" or "&", "="
  request->query[name] = std::move(text);
  return MHD_YES;
}

}  // namespace

struct HttpServer::Impl {
  HttpHandler handler;
  HttpLimits limits;
  MHD_Daemon* daemon = nullptr;
  std::mutex mutex;
  std::condition_variable idle;
  size_t in_progress = 0;  // requests begun and not yet completed
  bool draining = false;
  std::map<int, uint64_t> status_counts;  // every response sent, by status

  MHD_Result Queue(MHD_Connection* connection, HttpResponse& response, bool close) {
    {
      std::lock_guard lock(mutex);
      ++status_counts[response.status];
    }
    if (close) response.headers["Connection"] = "close";
    MHD_Response* reply = MHD_create_response_from_buffer(
        response.body.size(), response.body.data(), MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(reply, "Content-Type", response.content_type.c_str());
    for (const auto& [name, value] : response.headers) {
      MHD_add_response_header(reply, name.c_str(), value.c_str());
    }
    MHD_Result queued =
        MHD_queue_response(connection, static_cast<unsigned>(response.status), reply);
    MHD_destroy_response(reply);
    return queued;
  }

  static MHD_Result Answer(void* self, MHD_Connection* connection, const char* url,
                           const char* method, const char*, const char* upload_data,
                           size_t* upload_size, void** state) {
    auto* impl = static_cast<Impl*>(self);
    auto* pending = static_cast<Pending*>(*state);
    if (!pending) {
      bool refuse;
      {
        std::lock_guard lock(impl->mutex);
        refuse = impl->draining;
      }
      if (refuse) {  // a request begun after the drain: answered, not served
        HttpResponse stopping;
        stopping.status = 503;
        stopping.content_type = "application/problem+json";
        stopping.body =
            R"({"type":"about:blank","title":"Service Unavailable","status":503,"detail":"the service is stopping"})";
        stopping.headers["Retry-After"] = "10";
        return impl->Queue(connection, stopping, true);
      }
      pending = new Pending();
      *state = pending;
      {
        std::lock_guard lock(impl->mutex);
        ++impl->in_progress;
      }
      pending->request.method = method;
      pending->request.path = url;
      pending->request.target_bytes = pending->request.path.size();
      MHD_get_connection_values(connection, MHD_HEADER_KIND, CollectPair, &pending->request);
      MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, CollectQuery, &pending->request);
      pending->framing_error = FramingError(pending->request);
      if (!pending->framing_error.empty()) {
        HttpResponse refused = FramingProblem(pending->framing_error);
        return impl->Queue(connection, refused, true);
      }
      return MHD_YES;
    }
    if (*upload_size > 0) {
      if (pending->request.body.size() + *upload_size > impl->limits.max_body_bytes) {
        pending->too_large = true;
      } else {
        pending->request.body.append(upload_data, *upload_size);
      }
      *upload_size = 0;
      return MHD_YES;
    }
    HttpResponse response;
    if (pending->too_large) {
      response.status = 413;
      response.content_type = "application/problem+json";
      response.body = fmt::format(
          R"({{"type":"about:blank","title":"Content Too Large","status":413,"detail":"the body exceeds {} bytes"}})",
          impl->limits.max_body_bytes);
    } else {
      response = impl->handler(pending->request);
    }
    bool draining;
    {
      std::lock_guard lock(impl->mutex);
      draining = impl->draining;
    }
    return impl->Queue(connection, response, draining);
  }

  static void Completed(void* self, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
    auto* impl = static_cast<Impl*>(self);
    if (!*state) return;
    delete static_cast<Pending*>(*state);
    *state = nullptr;
    std::lock_guard lock(impl->mutex);
    --impl->in_progress;
    impl->idle.notify_all();
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen,
                                                      HttpHandler handler, HttpLimits limits) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Fail("expected HOST:PORT", listen);
  std::string host = listen.substr(0, colon);
  auto port = ParseInt(listen.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) return Fail("bad port", listen);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(*port));
  if (inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host.c_str(), &address.sin_addr) !=
      1) {
    return Fail("expected an IPv4 address to listen on", listen);
  }
  std::unique_ptr<HttpServer> server(new HttpServer());
  server->impl_ = std::make_unique<Impl>();
  Impl& impl = *server->impl_;
  impl.handler = std::move(handler);
  impl.limits = limits;
  // The connection's memory holds the request line and headers: room for the limits the
  // handler checks (414 over 8 KiB, 431 over 16 KiB) so that it, not the library, answers those
  // (heads beyond the pool get the library's own 431). Not more than 32 KiB: libmicrohttpd maps
  // larger pools fresh for every connection, which cost a fifth of the requests/s.
  constexpr size_t kConnectionMemory = 32 * 1024;
  impl.daemon = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG, 0, nullptr,
      nullptr, &Impl::Answer, &impl, MHD_OPTION_SOCK_ADDR, &address, MHD_OPTION_THREAD_POOL_SIZE,
      limits.threads, MHD_OPTION_NOTIFY_COMPLETED, &Impl::Completed, &impl,
      MHD_OPTION_CONNECTION_TIMEOUT, limits.idle_timeout_seconds, MHD_OPTION_CONNECTION_LIMIT,
      limits.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits.max_connections_per_client,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, kConnectionMemory, MHD_OPTION_UNESCAPE_CALLBACK,
      &UnescapeKeepingNul, nullptr, MHD_OPTION_END);
  if (!impl.daemon) {
    return Fail(fmt::format("cannot listen: {}", std::strerror(errno)), listen);
  }
  const MHD_DaemonInfo* info = MHD_get_daemon_info(impl.daemon, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info ? info->port : static_cast<int>(*port);
  return server;
}

std::map<int, uint64_t> HttpServer::requests_by_status() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->status_counts;
}

bool HttpServer::Drain(TimeNs grace) {
  // New requests are answered 503 from now on (libmicrohttpd's quiesce, which would stop the
  // accepting, can abort the process with a thread pool on epoll: "Failed to remove listen FD
  // from epoll set").
  std::unique_lock lock(impl_->mutex);
  impl_->draining = true;
  return impl_->idle.wait_for(lock, std::chrono::nanoseconds(grace),
                              [&] { return impl_->in_progress == 0; });
}

HttpServer::~HttpServer() {
  if (impl_ && impl_->daemon) MHD_stop_daemon(impl_->daemon);
}

}  // namespace bulwark::server
