#include "bulwark/receive/tcp.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <deque>
#include <map>
#include <thread>
#include <vector>

#include "bulwark/receive/framing.h"
#include "bulwark/receive/udp.h"
#include "sockets.h"

namespace bulwark::receive {

namespace {

constexpr size_t kReadBytes = 64 * 1024;
constexpr int kReadsPerRound = 16;  // per connection, so that one sender cannot starve the others

}  // namespace

struct TcpSyslogReceiver::Impl {
  struct Connection {
    int fd = -1;
    event::IpAddress sender;
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
  Limits limits;
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
      connection->framer = std::make_unique<SyslogFramer>(
          [this, raw](std::string_view text, uint64_t) {
            QueuedMessage message{raw->sender, raw->last_activity, std::string(text)};
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

  void ReadFrom(Connection& c) {
    char buffer[kReadBytes];
    for (int round = 0; round < kReadsPerRound && c.held.empty(); ++round) {
      ssize_t got = ::read(c.fd, buffer, sizeof buffer);
      if (got > 0) {
        c.last_activity = env->Now();
        c.framer->Feed(std::string_view(buffer, static_cast<size_t>(got)));
        size_t framed = c.held.size();
        messages += framed;
        Count(c.sender, "messages", framed);
        Flush(c);
        continue;
      }
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) break;
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
    std::vector<pollfd> polled;
    while (!stopping.load()) {
      bool waiting = false;
      polled.assign(1, pollfd{listen_fd, POLLIN, 0});
      for (const auto& c : connections) {
        short events = c->held.empty() && !c->ended ? POLLIN : 0;
        waiting = waiting || !c->held.empty();
        polled.push_back(pollfd{c->fd, events, 0});
      }
      int ready = poll(polled.data(), polled.size(), waiting ? 10 : 50);
      if (ready < 0 && errno != EINTR) break;
      size_t count = connections.size();  // Accept() appends; the new ones are read next round
      for (size_t i = 0; i < count; ++i) {
        Connection& c = *connections[i];
        if (!c.held.empty()) {
          Flush(c);
        } else if (polled[i + 1].revents != 0) {
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
    SenderStats* senders, Limits limits) {
  auto fd = OpenListeningSocket(listen, SOCK_STREAM);
  if (!fd) return tl::unexpected(fd.error());
  auto impl = std::make_unique<Impl>();
  impl->listen_fd = *fd;
  impl->queue = &queue;
  impl->queue_mutex = &queue_mutex;
  impl->env = &env;
  impl->senders = senders;
  impl->limits = limits;
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
}

TcpSyslogReceiver::Counters TcpSyslogReceiver::counters() const {
  return {impl_->accepted.load(),    impl_->refused.load(), impl_->open.load(),
          impl_->messages.load(),    impl_->queued.load(),  impl_->problems.load(),
          impl_->backpressure.load()};
}

}  // namespace bulwark::receive
