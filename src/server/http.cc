#include "bulwark/server/http.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <microhttpd.h>
#include <netinet/in.h>

#include <cstring>

#include "bulwark/core/strings.h"

namespace bulwark::server {

namespace {

// Per connection: the request as it arrives.
struct Pending {
  HttpRequest request;
  bool too_large = false;
};

MHD_Result CollectPair(void* target, MHD_ValueKind, const char* key, const char* value) {
  auto* request = static_cast<HttpRequest*>(target);
  std::string name = AsciiLower(key ? key : "");
  auto [it, inserted] = request->headers.insert_or_assign(name, value ? value : "");
  if (!inserted) request->repeated.insert(it->first);
  return MHD_YES;
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
  (*static_cast<std::map<std::string, std::string>*>(target))[key ? key : ""] = value ? value : "";
  return MHD_YES;
}

}  // namespace

struct HttpServer::Impl {
  HttpHandler handler;
  size_t max_body = 0;
  MHD_Daemon* daemon = nullptr;

  static MHD_Result Answer(void* self, MHD_Connection* connection, const char* url,
                           const char* method, const char*, const char* upload_data,
                           size_t* upload_size, void** state) {
    auto* impl = static_cast<Impl*>(self);
    auto* pending = static_cast<Pending*>(*state);
    if (!pending) {
      pending = new Pending();
      pending->request.method = method;
      pending->request.path = url;
      MHD_get_connection_values(connection, MHD_HEADER_KIND, CollectPair, &pending->request);
      MHD_get_connection_values(connection, MHD_GET_ARGUMENT_KIND, CollectQuery,
                                &pending->request.query);
      *state = pending;
      return MHD_YES;
    }
    if (*upload_size > 0) {
      if (pending->request.body.size() + *upload_size > impl->max_body) {
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
          R"({{"type":"about:blank","title":"Payload Too Large","status":413,"detail":"the body exceeds {} bytes"}})",
          impl->max_body);
    } else {
      response = impl->handler(pending->request);
    }
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

  static void Completed(void*, MHD_Connection*, void** state, MHD_RequestTerminationCode) {
    delete static_cast<Pending*>(*state);
    *state = nullptr;
  }
};

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& listen,
                                                      HttpHandler handler, size_t max_body_bytes,
                                                      unsigned threads) {
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
  server->impl_->handler = std::move(handler);
  server->impl_->max_body = max_body_bytes;
  server->impl_->daemon =
      MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0,
                       nullptr, nullptr, &Impl::Answer, server->impl_.get(), MHD_OPTION_SOCK_ADDR,
                       &address, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_NOTIFY_COMPLETED,
                       &Impl::Completed, nullptr, MHD_OPTION_CONNECTION_TIMEOUT, 30u,
                       MHD_OPTION_UNESCAPE_CALLBACK, &UnescapeKeepingNul, nullptr, MHD_OPTION_END);
  if (!server->impl_->daemon) {
    return Fail(fmt::format("cannot listen: {}", std::strerror(errno)), listen);
  }
  const MHD_DaemonInfo* info =
      MHD_get_daemon_info(server->impl_->daemon, MHD_DAEMON_INFO_BIND_PORT);
  server->port_ = info ? info->port : static_cast<int>(*port);
  return server;
}

HttpServer::~HttpServer() {
  if (impl_ && impl_->daemon) MHD_stop_daemon(impl_->daemon);
}

}  // namespace bulwark::server
