#include "bulwark/receive/udp.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <thread>

#include "sockets.h"

namespace bulwark::receive {

namespace {
constexpr size_t kMaxDatagram = 65535;
constexpr int kBatch = 1024;

}  // namespace

struct UdpSyslogReceiver::Impl {
  int fd = -1;
  DurableQueue* queue = nullptr;
  std::mutex* queue_mutex = nullptr;
  const Env* env = nullptr;
  SenderStats* senders = nullptr;
  std::thread thread;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> datagrams{0}, queued{0}, dropped{0};

  void Run() {
    std::string buffer(kMaxDatagram, '\0');
    int unsynced = 0;
    while (!stopping.load()) {
      pollfd p{fd, POLLIN, 0};
      int ready = poll(&p, 1, 50);
      if (ready <= 0) {
        if (unsynced > 0) Sync(unsynced);
        continue;
      }
      // Everything the socket holds now, then one sync for it.
      while (unsynced < kBatch) {
        sockaddr_storage from{};
        socklen_t from_length = sizeof from;
        ssize_t got = recvfrom(fd, buffer.data(), buffer.size(), MSG_DONTWAIT,
                               reinterpret_cast<sockaddr*>(&from), &from_length);
        if (got < 0) break;
        ++datagrams;
        QueuedMessage message;
        message.received = env->Now();
        message.sender = PeerAddress(from);
        std::string_view text(buffer.data(), static_cast<size_t>(got));
        while (!text.empty() &&
               (text.back() == '\n' || text.back() == '\r' || text.back() == '\0')) {
          text.remove_suffix(1);
        }
        message.text = std::string(text);
        std::lock_guard lock(*queue_mutex);
        if (queue->Append(EncodeQueued(message))) {
          ++queued;
          ++unsynced;
          Count(message.sender, "messages");
        } else {
          ++dropped;
          Count(message.sender, "dropped_queue_full");
        }
      }
      Sync(unsynced);
    }
    Sync(unsynced);
  }

  void Count(const event::IpAddress& sender, const char* what) {
    if (senders) senders->Add(sender, what);
  }

  void Sync(int& unsynced) {
    if (unsynced == 0) return;
    std::lock_guard lock(*queue_mutex);
    (void)queue->Sync();
    unsynced = 0;
  }
};

UdpSyslogReceiver::UdpSyslogReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UdpSyslogReceiver::~UdpSyslogReceiver() {
  Stop();
}

Result<std::unique_ptr<UdpSyslogReceiver>> UdpSyslogReceiver::Start(const std::string& listen,
                                                                    DurableQueue& queue,
                                                                    std::mutex& queue_mutex,
                                                                    const Env& env,
                                                                    SenderStats* senders) {
  auto fd = OpenListeningSocket(listen, SOCK_DGRAM);
  if (!fd) return tl::unexpected(fd.error());
  auto impl = std::make_unique<Impl>();
  impl->fd = *fd;
  int size = 8 << 20;  // room for bursts while the queue syncs
  setsockopt(impl->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  impl->queue = &queue;
  impl->queue_mutex = &queue_mutex;
  impl->env = &env;
  impl->senders = senders;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  std::unique_ptr<UdpSyslogReceiver> receiver(new UdpSyslogReceiver(std::move(impl)));
  receiver->port_ = BoundPort(*fd);
  return receiver;
}

void UdpSyslogReceiver::Stop() {
  if (!impl_ || impl_->fd < 0) return;
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  ::close(impl_->fd);
  impl_->fd = -1;
}

UdpSyslogReceiver::Counters UdpSyslogReceiver::counters() const {
  return {impl_->datagrams.load(), impl_->queued.load(), impl_->dropped.load()};
}

}  // namespace bulwark::receive
