#include "bulwark/scan/network.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <tuple>
#include <unordered_map>

#include "discovery_internal.h"

namespace bulwark::scan {

namespace {

using internal::Clock;

socklen_t AddressOf(const Endpoint& endpoint, sockaddr_storage& storage) {
  std::memset(&storage, 0, sizeof storage);
  const auto& bytes = endpoint.address.bytes();
  if (endpoint.address.is_v4()) {
    auto* in = reinterpret_cast<sockaddr_in*>(&storage);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(endpoint.port));
    std::memcpy(&in->sin_addr, bytes.data() + 12, 4);
    return sizeof(sockaddr_in);
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(&storage);
  in6->sin6_family = AF_INET6;
  in6->sin6_port = htons(static_cast<uint16_t>(endpoint.port));
  std::memcpy(&in6->sin6_addr, bytes.data(), 16);
  return sizeof(sockaddr_in6);
}

// A non-blocking socket with a connect to `endpoint` under way; -1 with errno on failure.
int StartConnect(const Endpoint& endpoint) {
  sockaddr_storage storage;
  socklen_t length = AddressOf(endpoint, storage);
  int fd = socket(storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&storage), length) < 0 && errno != EINPROGRESS) {
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

// Closes a connected socket with a reset: no FIN handshake, no TIME_WAIT per probed port.
void Abort(int fd) {
  linger abort{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
  close(fd);
}

}  // namespace

namespace internal {

void SortEndpoints(std::vector<Endpoint>& endpoints) {
  std::sort(endpoints.begin(), endpoints.end(), [](const Endpoint& a, const Endpoint& b) {
    return std::tie(a.address.bytes(), a.port) < std::tie(b.address.bytes(), b.port);
  });
}

std::vector<Endpoint> DiscoverByConnect(AttemptQueue queue, const DiscoverOptions& options,
                                        DiscoverStats& s) {
  std::vector<Endpoint> open;
  if (!queue.HasNext()) return open;
  auto cancelled = [&] { return options.cancel && options.cancel->load(); };
  int epoll = epoll_create1(EPOLL_CLOEXEC);
  if (epoll < 0) return open;
  std::unordered_map<int, Attempt> in_flight;
  // Deadlines in launch order: with one timeout for all they only grow, so the earliest is first.
  struct Deadline {
    Clock::time_point at;
    int fd;
    uint64_t serial;
  };
  std::deque<Deadline> deadlines;
  uint64_t serials = 0;
  RateGate gate(options.rate, options.rate_per_network);
  auto finish = [&](int fd, int error) {
    Attempt attempt = in_flight[fd];
    in_flight.erase(fd);
    if (error == 0) {
      Abort(fd);
    } else {
      close(fd);  // also leaves the epoll set
    }
    if (error == 0) {
      ++s.open;
      open.push_back(attempt.endpoint);
    } else if (error == ECONNREFUSED) {
      ++s.closed;
    } else if (error == ETIMEDOUT && attempt.tries <= options.retries) {
      queue.Retry(attempt);
    } else {
      ++s.filtered;
    }
  };
  size_t max_in_flight = options.max_in_flight;
  if (max_in_flight == 0) {
    double seconds = std::chrono::duration<double>(options.timeout).count();
    max_in_flight = static_cast<size_t>(std::max(64.0, options.rate * seconds * 1.25));
    rlimit files{};
    if (getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur > 256) {
      max_in_flight = std::min<size_t>(max_in_flight, files.rlim_cur - 128);
    }
  }
  std::vector<epoll_event> events(256);
  while ((queue.HasNext() || !in_flight.empty()) && !cancelled()) {
    auto now = Clock::now();
    Clock::time_point wake = now + std::chrono::milliseconds(100);
    while (queue.HasNext() && in_flight.size() < max_in_flight) {
      Attempt attempt = queue.Peek();
      Clock::time_point allowed = gate.AllowedAt(attempt.endpoint.address);
      if (allowed > now) {
        wake = std::min(wake, allowed);
        break;
      }
      gate.Take(attempt.endpoint.address, now);
      queue.Pop();
      ++attempt.tries;
      ++s.attempts;
      attempt.serial = ++serials;
      int fd = StartConnect(attempt.endpoint);
      if (fd < 0) {
        if (errno == ECONNREFUSED) {
          ++s.closed;
        } else {
          ++s.filtered;
        }
        continue;
      }
      epoll_event event{};
      event.events = EPOLLOUT | EPOLLERR | EPOLLHUP;
      event.data.fd = fd;
      epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
      in_flight[fd] = attempt;
      deadlines.push_back({now + options.timeout, fd, attempt.serial});
    }
    auto current = [&](const Deadline& d) {
      auto it = in_flight.find(d.fd);
      return it != in_flight.end() && it->second.serial == d.serial;
    };
    while (!deadlines.empty() && !current(deadlines.front())) deadlines.pop_front();
    if (!deadlines.empty()) wake = std::min(wake, deadlines.front().at);
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(wake - Clock::now());
    int ready = epoll_wait(epoll, events.data(), static_cast<int>(events.size()),
                           static_cast<int>(std::clamp<int64_t>(wait.count() + 1, 0, 100)));
    for (int i = 0; i < ready; ++i) {
      int fd = events[i].data.fd;
      int error = 0;
      socklen_t length = sizeof error;
      getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
      finish(fd, error);
    }
    now = Clock::now();
    while (!deadlines.empty() && deadlines.front().at <= now) {
      Deadline due = deadlines.front();
      deadlines.pop_front();
      if (current(due)) finish(due.fd, ETIMEDOUT);
    }
  }
  for (const auto& [fd, attempt] : in_flight) close(fd);  // cancelled: what was in flight
  close(epoll);
  return open;
}

}  // namespace internal

std::vector<Endpoint> DiscoverTcp(const std::vector<event::IpAddress>& addresses,
                                  const std::vector<int>& ports, const DiscoverOptions& options,
                                  DiscoverStats* stats) {
  DiscoverStats local;
  DiscoverStats& s = stats ? *stats : local;
  std::vector<event::IpAddress> v4, v6;
  for (const auto& address : addresses) (address.is_v4() ? v4 : v6).push_back(address);
  std::vector<Endpoint> open;
  bool syn = options.method != DiscoveryMethod::kConnect && !v4.empty() && !ports.empty() &&
             internal::DiscoverBySyn(v4, ports, options, s, open);
  if (!syn) {
    v6 = addresses;  // everything by connect
  } else {
    s.method = "syn";
    // The confirmation pass: a SYN-ACK is believed only when a connection succeeds too.
    std::vector<Endpoint> answered;
    answered.swap(open);
    if (options.cancel && options.cancel->load()) {
      // Stopped: what the SYNs found so far, unconfirmed, rather than nothing.
      internal::SortEndpoints(answered);
      return answered;
    }
    DiscoverStats confirmation;
    DiscoverOptions confirm = options;
    confirm.retries = std::max(options.retries, 1);
    open = internal::DiscoverByConnect(internal::AttemptQueue(answered), confirm, confirmation);
    s.open = s.open - answered.size() + open.size();
    s.unconfirmed += answered.size() - open.size();
  }
  auto by_connect =
      v6.empty() ? std::vector<Endpoint>{}
                 : internal::DiscoverByConnect(internal::AttemptQueue(v6, ports), options, s);
  open.insert(open.end(), by_connect.begin(), by_connect.end());
  internal::SortEndpoints(open);
  return open;
}

namespace {

SSL_CTX* ClientContext() {
  static SSL_CTX* context = [] {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) return ctx;
    SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nullptr);
    // Report what the server offers, old protocol versions and weak keys included.
    SSL_CTX_set_security_level(ctx, 0);
    SSL_CTX_set_min_proto_version(ctx, 0);
    return ctx;
  }();
  return context;
}

// Waits for `events` on `fd` until `deadline`; false when it passed first.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, events, 0};
    int ready = poll(&p, 1, static_cast<int>(left.count()));
    if (ready > 0) return true;
    if (ready < 0 && errno != EINTR) return false;
  }
}

// Runs a TLS operation on the non-blocking socket until it completes, fails, or `deadline`
// passes: OpenSSL's wants (read, write) are waited for with poll, so a peer that trickles bytes
// cannot hold the conversation past the deadline. Returns the operation's result (> 0 on success)
// or -1.
template <typename Operation>
int TlsStep(SSL* ssl, int fd, Clock::time_point deadline, Operation operation, int* error) {
  while (true) {
    int result = operation();
    if (result > 0) return result;
    *error = SSL_get_error(ssl, result);
    short events = *error == SSL_ERROR_WANT_READ    ? POLLIN
                   : *error == SSL_ERROR_WANT_WRITE ? POLLOUT
                                                    : 0;
    if (events == 0 || !WaitFor(fd, events, deadline)) {
      ERR_clear_error();
      return -1;
    }
  }
}

// The protocol version OpenSSL calls `name`; 0 when unknown.
int VersionNamed(const std::string& name) {
  static const std::pair<const char*, int> kVersions[] = {{"TLSv1", TLS1_VERSION},
                                                          {"TLSv1.1", TLS1_1_VERSION},
                                                          {"TLSv1.2", TLS1_2_VERSION},
                                                          {"TLSv1.3", TLS1_3_VERSION}};
  for (const auto& [text, version] : kVersions) {
    if (name == text) return version;
  }
  return 0;
}

// Narrows what `ssl` offers to `offer`'s version and ciphers; false when OpenSSL refuses
// them (an unknown version, a cipher list that names nothing).
bool OfferOnly(SSL* ssl, const TlsOffer& offer) {
  if (!offer.version.empty()) {
    int version = VersionNamed(offer.version);
    if (version == 0 || SSL_set_min_proto_version(ssl, version) != 1 ||
        SSL_set_max_proto_version(ssl, version) != 1) {
      return false;
    }
  }
  if (!offer.ciphers.empty()) {
    bool tls13 = offer.version == "TLSv1.3";
    int set = tls13 ? SSL_set_ciphersuites(ssl, offer.ciphers.c_str())
                    : SSL_set_cipher_list(ssl, offer.ciphers.c_str());
    if (set != 1) return false;
  }
  return true;
}

}  // namespace

Conversation Converse(const Endpoint& endpoint, const ConverseRequest& request,
                      const ConverseLimits& limits, const TlsOffer& offer) {
  Conversation out;
  const auto end = Clock::now() + limits.total;
  auto until = [&](std::chrono::milliseconds span) { return std::min(end, Clock::now() + span); };
  int fd = StartConnect(endpoint);
  if (fd < 0) {
    out.error = std::strerror(errno);
    return out;
  }
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { Abort(*f); });
  if (!WaitFor(fd, POLLOUT, until(limits.connect))) {
    out.error = "connect timed out";
    return out;
  }
  int error = 0;
  socklen_t length = sizeof error;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length);
  if (error != 0) {
    out.error = std::strerror(error);
    return out;
  }
  out.connected = true;
  // The socket stays non-blocking: every wait below is a poll bounded by `end`.
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(nullptr, SSL_free);
  if (request.tls) {
    ssl.reset(SSL_new(ClientContext()));
    if (!ssl || SSL_set_fd(ssl.get(), fd) != 1 || !OfferOnly(ssl.get(), offer)) {
      out.error = "TLS setup failed";
      return out;
    }
    int code = 0;
    if (TlsStep(
            ssl.get(), fd, until(limits.connect), [&] { return SSL_connect(ssl.get()); }, &code) <
        0) {
      out.error = "TLS handshake failed";
      return out;
    }
    TlsSession session;
    session.version = SSL_get_version(ssl.get());
    if (const SSL_CIPHER* cipher = SSL_get_current_cipher(ssl.get())) {
      session.cipher = SSL_CIPHER_get_name(cipher);
    }
    if (X509* cert = SSL_get1_peer_certificate(ssl.get())) {
      unsigned char* der = nullptr;
      int size = i2d_X509(cert, &der);
      if (size > 0) {
        auto info = ReadCertificate(std::string_view(reinterpret_cast<char*>(der), size));
        if (info) {
          session.certificate = std::move(*info);
        } else {
          session.certificate_error = info.error().message;
        }
      }
      OPENSSL_free(der);
      X509_free(cert);
    }
    out.tls = std::move(session);
  }
  // Reads one answer: waits `first` for its first byte, then until `idle` passes without one.
  auto read_answer = [&](std::string& into, std::chrono::milliseconds first) {
    char buffer[4096];
    bool got = false;
    while (into.size() < limits.max_bytes) {
      auto deadline = until(got ? limits.idle : first);
      size_t room = std::min(sizeof buffer, limits.max_bytes - into.size());
      ssize_t n;
      if (ssl) {
        int code = 0;
        n = TlsStep(
            ssl.get(), fd, deadline,
            [&] { return SSL_read(ssl.get(), buffer, static_cast<int>(room)); }, &code);
        if (n < 0) {
          if (code == SSL_ERROR_SYSCALL && errno == ECONNRESET) out.error = "connection reset";
          if (code == SSL_ERROR_SSL) out.error = "TLS read failed";
          return;
        }
      } else {
        if (!WaitFor(fd, POLLIN, deadline)) return;
        n = recv(fd, buffer, room, 0);
        if (n < 0) {
          if (errno == EAGAIN || errno == EINTR) continue;
          out.error = errno == ECONNRESET ? "connection reset" : std::strerror(errno);
          return;
        }
        if (n == 0) return;
      }
      got = true;
      into.append(buffer, static_cast<size_t>(n));
    }
    out.truncated = true;
  };
  if (request.read_banner) read_answer(out.banner, limits.first_byte);
  if (!request.send.empty() && out.error.empty()) {
    bool sent;
    if (ssl) {
      int code = 0;
      sent = TlsStep(
                 ssl.get(), fd, end,
                 [&] {
                   return SSL_write(ssl.get(), request.send.data(),
                                    static_cast<int>(request.send.size()));
                 },
                 &code) > 0;
    } else {
      size_t done = 0;
      while (done < request.send.size() && WaitFor(fd, POLLOUT, end)) {
        ssize_t n = send(fd, request.send.data() + done, request.send.size() - done, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) break;
        if (n > 0) done += static_cast<size_t>(n);
      }
      sent = done == request.send.size();
    }
    if (!sent) {
      ERR_clear_error();
      out.error = "send failed";
      return out;
    }
    read_answer(out.answer, limits.first_byte);
  } else if (request.send.empty() && !request.read_banner) {
    read_answer(out.answer, limits.first_byte);
  }
  if (ssl && out.error.empty()) SSL_shutdown(ssl.get());  // one try: non-blocking, never waits
  ERR_clear_error();
  return out;
}

TlsProfile ProbeTls(const Endpoint& endpoint, const ConverseLimits& limits, size_t max_handshakes) {
  TlsProfile profile;
  // A server that drags each handshake out to the limit costs four conversations, not 64.
  const auto deadline = Clock::now() + 4 * limits.total;
  auto spent = [&] { return profile.handshakes >= max_handshakes || Clock::now() >= deadline; };
  auto handshake = [&](const std::string& version, const std::string& ciphers) {
    ++profile.handshakes;
    ConverseLimits quick = limits;
    quick.first_byte = std::chrono::milliseconds(1);
    return Converse(endpoint, {true, false, ""}, quick, {version, ciphers}).tls;
  };
  // TLS 1.3's suites are few and named one by one; older versions take a list with exclusions.
  const std::string kTls13Suites =
      "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256:"
      "TLS_AES_128_CCM_SHA256:TLS_AES_128_CCM_8_SHA256";
  // Offered first, so that the cap on handshakes never hides them: the weak kinds this OpenSSL
  // still has (Debian's has no RC4, DES or export ciphers to offer).
  const std::string kWeakFirst = "aNULL:eNULL:RC4:DES:3DES:EXP:MD5:@SECLEVEL=0";
  const std::string kEverything = "ALL:COMPLEMENTOFALL:@SECLEVEL=0";
  auto remember = [&](const std::string& cipher) {
    if (std::find(profile.ciphers.begin(), profile.ciphers.end(), cipher) ==
        profile.ciphers.end()) {
      profile.ciphers.push_back(cipher);
    }
  };
  // Offers `offer` (without the ciphers known already) with `version` until the server refuses,
  // taking out its choice each time.
  auto each_accepted = [&](const std::string& version, std::string offer) {
    bool tls13 = version == "TLSv1.3";
    for (const auto& known : profile.ciphers) {
      if (!tls13) offer += ":!" + known;
    }
    while (!spent()) {
      auto session = handshake(version, offer);
      if (!session || session->version != version) return;
      remember(session->cipher);
      if (!tls13) {
        offer += ":!" + session->cipher;
        continue;
      }
      std::string rest;  // the suites not chosen yet
      size_t start = 0;
      while (start <= offer.size()) {
        size_t end = std::min(offer.find(':', start), offer.size());
        std::string suite = offer.substr(start, end - start);
        if (!suite.empty() && suite != session->cipher) rest += (rest.empty() ? "" : ":") + suite;
        start = end + 1;
      }
      if (rest == offer || rest.empty()) return;
      offer = rest;
    }
  };
  for (const char* version : {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}) {
    if (spent()) break;
    bool tls13 = std::string_view(version) == "TLSv1.3";
    // Whether the version is accepted at all, whatever the cipher.
    auto session = handshake(version, tls13 ? kTls13Suites : kEverything);
    if (!session || session->version != version) continue;
    profile.versions.push_back(version);
    remember(session->cipher);
    if (tls13) {
      each_accepted(version, kTls13Suites);
    } else {
      each_accepted(version, kWeakFirst);
      each_accepted(version, kEverything);
    }
  }
  return profile;
}

Conversation ConverseUdp(const Endpoint& endpoint, const std::string& datagram,
                         const ConverseLimits& limits) {
  Conversation out;
  sockaddr_storage storage;
  socklen_t length = AddressOf(endpoint, storage);
  int fd = socket(storage.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    out.error = std::strerror(errno);
    return out;
  }
  std::unique_ptr<int, void (*)(int*)> closer(&fd, [](int* f) { close(*f); });
  if (connect(fd, reinterpret_cast<sockaddr*>(&storage), length) < 0) {
    out.error = std::strerror(errno);
    return out;
  }
  std::string buffer(std::max<size_t>(limits.max_bytes, 1), '\0');
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (send(fd, datagram.data(), datagram.size(), MSG_NOSIGNAL) < 0) {
      out.error = errno == ECONNREFUSED ? "port unreachable" : std::strerror(errno);
      return out;
    }
    if (!WaitFor(fd, POLLIN, Clock::now() + limits.first_byte)) continue;
    ssize_t n = recv(fd, buffer.data(), buffer.size(), MSG_TRUNC);
    if (n < 0) {
      out.error = errno == ECONNREFUSED ? "port unreachable" : std::strerror(errno);
      return out;
    }
    out.connected = true;
    out.truncated = static_cast<size_t>(n) > buffer.size();
    out.answer.assign(buffer.data(), std::min(static_cast<size_t>(n), buffer.size()));
    return out;
  }
  out.error = "no answer";
  return out;
}

}  // namespace bulwark::scan
