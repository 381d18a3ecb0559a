#include "bulwark/receive/tcp.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <deque>
#include <map>
#include <thread>
#include <vector>

#include "bulwark/receive/framing.h"
#include "bulwark/receive/message.h"
#include "sockets.h"

namespace bulwark::receive {

namespace {

constexpr size_t kReadBytes = 64 * 1024;
constexpr int kReadsPerRound = 16;  // per connection, so that one sender cannot starve the others

// The TLS server context of `tls`. Errors: files that cannot be read or do not match.
Result<SSL_CTX*> NewTlsContext(const TcpSyslogReceiver::Tls& tls) {
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  if (!context) return Fail("cannot make a TLS context");
  auto fail = [&](const std::string& what, const std::string& where) -> Result<SSL_CTX*> {
    char reason[256] = "";
    ERR_error_string_n(ERR_get_error(), reason, sizeof reason);
    ERR_clear_error();
    SSL_CTX_free(context);
    return Fail(fmt::format("{}: {}", what, reason), where);
  };
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(context, tls.certificate_file.c_str()) != 1) {
    return fail("cannot use the certificate", tls.certificate_file);
  }
  if (SSL_CTX_use_PrivateKey_file(context, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return fail("cannot use the key", tls.key_file);
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    return fail("the key does not belong to the certificate", tls.key_file);
  }
  if (!tls.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(context, tls.client_ca_file.c_str(), nullptr) != 1) {
      return fail("cannot use the client CA certificates", tls.client_ca_file);
    }
    SSL_CTX_set_verify(
        context,
        SSL_VERIFY_PEER | (tls.require_client_certificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0),
        nullptr);
  }
  return context;
}

// The names a certificate proves: its subject CN and DNS names, and "sha256:<hex>".
std::vector<std::string> CertificateNames(X509* certificate) {
  std::vector<std::string> names;
  char common_name[256];
  int length = X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName,
                                         common_name, sizeof common_name);
  if (length > 0) names.emplace_back(common_name, static_cast<size_t>(length));
  auto* alternatives = static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(certificate, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; alternatives && i < sk_GENERAL_NAME_num(alternatives); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(alternatives, i);
    if (name->type != GEN_DNS) continue;
    const ASN1_IA5STRING* dns = name->d.dNSName;
    names.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(dns)),
                       static_cast<size_t>(ASN1_STRING_length(dns)));
  }
  GENERAL_NAMES_free(alternatives);
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  if (X509_digest(certificate, EVP_sha256(), digest, &digest_length) == 1) {
    std::string hex = "sha256:";
    for (unsigned int i = 0; i < digest_length; ++i) hex += fmt::format("{:02x}", digest[i]);
    names.push_back(hex);
  }
  return names;
}

}  // namespace

struct TcpSyslogReceiver::Impl {
  struct Connection {
    int fd = -1;
    event::IpAddress sender;
    std::string name;  // proved by a TLS client certificate
    SSL* tls = nullptr;
    bool peer_checked = false;  // TLS: the client's certificate was looked at
    bool want_write = false;    // TLS: the handshake waits to write
    std::unique_ptr<SyslogFramer> framer;
    std::deque<std::string> held;  // framed, waiting for room in the queue
    bool ended = false;            // the peer closed its side
    TimeNs last_activity = 0;
  };

  int listen_fd = -1;
  DurableQueue* queue = nullptr;
  std::mutex* queue_mutex = nullptr;
  const Env* env = nullptr;
  SenderStats* senders = nullptr;
  Options limits;
  SSL_CTX* tls_context = nullptr;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> accepted{0}, refused{0}, open{0}, messages{0}, queued{0}, problems{0},
      backpressure{0};

  std::vector<std::unique_ptr<Connection>> connections;
  std::map<std::string, size_t> per_sender;  // open connections by sender
  bool unsynced = false;

  void Count(const event::IpAddress& sender, const std::string& what, uint64_t n = 1) {
    if (senders && n > 0) senders->Add(sender, what, n);
  }

  void Accept() {
    while (true) {
      sockaddr_storage peer{};
      socklen_t length = sizeof peer;
      int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&peer), &length,
                       SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      event::IpAddress sender = PeerAddress(peer);
      std::string key = sender.ToString();
      const char* refusal = nullptr;
      if (connections.size() >= limits.max_connections) {
        refusal = "refused_too_many_connections";
      } else if (per_sender[key] >= limits.max_connections_per_sender) {
        refusal = "refused_too_many_connections_from_sender";
      }
      if (refusal) {
        ::close(fd);
        ++refused;
        Count(sender, refusal);
        continue;
      }
      ++accepted;
      ++open;
      ++per_sender[key];
      Count(sender, "connections");
      auto connection = std::make_unique<Connection>();
      connection->fd = fd;
      connection->sender = sender;
      connection->last_activity = env->Now();
      Connection* raw = connection.get();
      SyslogFramer::Options options;
      options.max_message = limits.max_message;
      if (tls_context) {
        connection->tls = SSL_new(tls_context);
        SSL_set_fd(connection->tls, fd);
        SSL_set_accept_state(connection->tls);
      }
      connection->framer = std::make_unique<SyslogFramer>(
          [this, raw](std::string_view text, uint64_t) {
            QueuedMessage message{raw->sender, raw->last_activity, raw->name, std::string(text)};
            raw->held.push_back(EncodeQueued(message));
          },
          [this, raw](const FramingProblem& problem) {
            ++problems;
            Count(raw->sender, problem.kind);
          },
          options);
      connections.push_back(std::move(connection));
    }
  }

  // Appends what `c` holds to the queue while there is room.
  void Flush(Connection& c) {
    if (c.held.empty()) return;
    uint64_t appended = 0;
    {
      std::lock_guard lock(*queue_mutex);
      while (!c.held.empty()) {
        if (!queue->Append(c.held.front())) break;
        c.held.pop_front();
        ++appended;
      }
    }
    queued += appended;
    if (appended > 0) unsynced = true;
    if (!c.held.empty()) ++backpressure;
  }

  enum class Received { kData, kAgain, kEnd };

  // Reads what `c` has (through TLS when it speaks it) into `buffer`.
  Received Receive(Connection& c, char* buffer, size_t size, size_t& got) {
    if (!c.tls) {
      ssize_t n = ::read(c.fd, buffer, size);
      if (n > 0) {
        got = static_cast<size_t>(n);
        return Received::kData;
      }
      return n < 0 && (errno == EAGAIN || errno == EINTR) ? Received::kAgain : Received::kEnd;
    }
    ERR_clear_error();
    int n = SSL_read(c.tls, buffer, static_cast<int>(size));
    c.want_write = false;
    int error = n > 0 ? SSL_ERROR_NONE : SSL_get_error(c.tls, n);
    if (!c.peer_checked && SSL_is_init_finished(c.tls) && !CheckPeer(c)) return Received::kEnd;
    switch (error) {
      case SSL_ERROR_NONE:
        got = static_cast<size_t>(n);
        return Received::kData;
      case SSL_ERROR_WANT_READ:
        return Received::kAgain;
      case SSL_ERROR_WANT_WRITE:
        c.want_write = true;
        return Received::kAgain;
      case SSL_ERROR_ZERO_RETURN:
        return Received::kEnd;
      default:
        Count(c.sender, SSL_is_init_finished(c.tls) ? "tls_error" : "tls_handshake_failed");
        ERR_clear_error();
        return Received::kEnd;
    }
  }

  // After the handshake: the client's certificate names the sender; a client not allowed is
  // refused. Returns false when the connection must close.
  bool CheckPeer(Connection& c) {
    c.peer_checked = true;
    std::vector<std::string> names;
    if (X509* certificate = SSL_get1_peer_certificate(c.tls)) {
      names = CertificateNames(certificate);
      X509_free(certificate);
    }
    if (!names.empty() && !names.front().starts_with("sha256:")) c.name = names.front();
    const auto& allowed = limits.tls->allowed_clients;
    if (allowed.empty()) return true;
    for (const std::string& name : names) {
      if (std::find(allowed.begin(), allowed.end(), name) != allowed.end()) return true;
    }
    Count(c.sender, "tls_client_not_allowed");
    return false;
  }

  void ReadFrom(Connection& c) {
    char buffer[kReadBytes];
    for (int round = 0; round < kReadsPerRound && c.held.empty(); ++round) {
      size_t got = 0;
      Received received = Receive(c, buffer, sizeof buffer, got);
      if (received == Received::kData) {
        c.last_activity = env->Now();
        c.framer->Feed(std::string_view(buffer, got));
        size_t framed = c.held.size();
        messages += framed;
        Count(c.sender, "messages", framed);
        Flush(c);
        continue;
      }
      if (received == Received::kAgain) break;
      c.framer->Finish();  // end of stream (or a reset): what was framed is kept
      messages += c.held.size();
      Count(c.sender, "messages", c.held.size());
      c.ended = true;
      Flush(c);
      break;
    }
  }

  void Close(size_t index) {
    Connection& c = *connections[index];
    if (c.tls) {
      SSL_shutdown(c.tls);  // a close_notify, without waiting for the client's
      SSL_free(c.tls);
    }
    ::close(c.fd);
    --open;
    std::string key = c.sender.ToString();
    if (--per_sender[key] == 0) per_sender.erase(key);
    connections[index] = std::move(connections.back());
    connections.pop_back();
  }

  void Sync() {
    if (!unsynced) return;
    std::lock_guard lock(*queue_mutex);
    (void)queue->Sync();
    unsynced = false;
  }

  void Run() {
    // A TLS alert or close_notify written to a connection its client has closed raises SIGPIPE
    // in the writing thread; blocked here, the write fails with EPIPE instead of killing the
    // process.
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, nullptr);
    std::vector<pollfd> polled;
    while (!stopping.load()) {
      bool waiting = false;
      polled.assign(1, pollfd{listen_fd, POLLIN, 0});
      bool buffered = false;  // TLS has decrypted bytes that poll() cannot see
      for (const auto& c : connections) {
        bool readable = c->held.empty() && !c->ended;
        short events = readable ? static_cast<short>(POLLIN | (c->want_write ? POLLOUT : 0)) : 0;
        waiting = waiting || !c->held.empty();
        buffered = buffered || (readable && c->tls && SSL_pending(c->tls) > 0);
        polled.push_back(pollfd{c->fd, events, 0});
      }
      int ready = poll(polled.data(), polled.size(), buffered ? 0 : waiting ? 10 : 50);
      if (ready < 0 && errno != EINTR) break;
      size_t count = connections.size();  // Accept() appends; the new ones are read next round
      for (size_t i = 0; i < count; ++i) {
        Connection& c = *connections[i];
        if (!c.held.empty()) {
          Flush(c);
        } else if (polled[i + 1].revents != 0 || (c.tls && SSL_pending(c.tls) > 0)) {
          ReadFrom(c);
        }
      }
      if (polled[0].revents & POLLIN) Accept();
      Sync();
      TimeNs now = env->Now();
      for (size_t i = connections.size(); i-- > 0;) {
        Connection& c = *connections[i];
        bool idle = limits.idle_timeout > 0 && now - c.last_activity > limits.idle_timeout &&
                    c.held.empty();
        if (idle) Count(c.sender, "closed_idle");
        if ((c.ended && c.held.empty()) || idle) Close(i);
      }
    }
    for (auto& c : connections) {
      c->framer->Finish();
      Flush(*c);
    }
    Sync();
    while (!connections.empty()) Close(connections.size() - 1);
  }
};

TcpSyslogReceiver::TcpSyslogReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

TcpSyslogReceiver::~TcpSyslogReceiver() {
  Stop();
}

Result<std::unique_ptr<TcpSyslogReceiver>> TcpSyslogReceiver::Start(
    const std::string& listen, DurableQueue& queue, std::mutex& queue_mutex, const Env& env,
    SenderStats* senders, Options options) {
  SSL_CTX* tls_context = nullptr;
  if (options.tls) {
    auto context = NewTlsContext(*options.tls);
    if (!context) return tl::unexpected(context.error());
    tls_context = *context;
  }
  auto fd = OpenListeningSocket(listen, SOCK_STREAM);
  if (!fd) {
    SSL_CTX_free(tls_context);
    return tl::unexpected(fd.error());
  }
  auto impl = std::make_unique<Impl>();
  impl->listen_fd = *fd;
  impl->tls_context = tls_context;
  impl->queue = &queue;
  impl->queue_mutex = &queue_mutex;
  impl->env = &env;
  impl->senders = senders;
  impl->limits = std::move(options);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  std::unique_ptr<TcpSyslogReceiver> receiver(new TcpSyslogReceiver(std::move(impl)));
  receiver->port_ = BoundPort(*fd);
  return receiver;
}

void TcpSyslogReceiver::Stop() {
  if (!impl_ || impl_->listen_fd < 0) return;
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  ::close(impl_->listen_fd);
  impl_->listen_fd = -1;
  SSL_CTX_free(impl_->tls_context);
  impl_->tls_context = nullptr;
}

TcpSyslogReceiver::Counters TcpSyslogReceiver::counters() const {
  return {impl_->accepted.load(),    impl_->refused.load(), impl_->open.load(),
          impl_->messages.load(),    impl_->queued.load(),  impl_->problems.load(),
          impl_->backpressure.load()};
}

}  // namespace bulwark::receive
