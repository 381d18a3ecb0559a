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
#include <vector>

#include "sockets.h"

namespace bulwark::receive {

namespace {
constexpr size_t kMaxDatagram = 65535;
constexpr int kBatch = 1024;

}  // namespace

DatagramHandler SyslogDatagram() {
  return [](const event::IpAddress&, std::string_view text,
            std::vector<std::string>& messages) -> Result<void> {
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == '\0')) {
      text.remove_suffix(1);
    }
    messages.emplace_back(text);
    return {};
  };
}

struct UdpReceiver::Impl {
  int fd = -1;
  DurableQueue* queue = nullptr;
  std::mutex* queue_mutex = nullptr;
  const Env* env = nullptr;
  SenderStats* senders = nullptr;
  std::thread thread;
  std::atomic<bool> stopping{false};
  DatagramHandler handler;
  std::atomic<uint64_t> datagrams{0}, queued{0}, dropped{0}, rejected{0};

  void Run() {
    std::string buffer(kMaxDatagram, '\0');
    std::vector<std::string> texts;
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
        texts.clear();
        auto handled = handler(message.sender,
                               std::string_view(buffer.data(), static_cast<size_t>(got)), texts);
        if (!handled) {
          ++rejected;
          Count(message.sender, "rejected_datagram");
        }
        std::lock_guard lock(*queue_mutex);
        for (std::string& text : texts) {
          message.text = std::move(text);
          if (queue->Append(EncodeQueued(message))) {
            ++queued;
            ++unsynced;
            Count(message.sender, "messages");
          } else {
            ++dropped;
            Count(message.sender, "dropped_queue_full");
          }
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

UdpReceiver::UdpReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UdpReceiver::~UdpReceiver() {
  Stop();
}

Result<std::unique_ptr<UdpReceiver>> UdpReceiver::Start(const std::string& listen,
                                                        DurableQueue& queue,
                                                        std::mutex& queue_mutex, const Env& env,
                                                        SenderStats* senders,
                                                        DatagramHandler handler) {
  auto fd = OpenListeningSocket(listen, SOCK_DGRAM);
  if (!fd) return tl::unexpected(fd.error());
  auto impl = std::make_unique<Impl>();
  impl->fd = *fd;
  // Room for bursts while the queue syncs. SO_RCVBUF is capped at net.core.rmem_max (208 KiB
  // by default: 150 flow datagrams); a privileged process may go beyond it.
  int size = 32 << 20;
  if (setsockopt(impl->fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof size) != 0) {
    setsockopt(impl->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  }
  impl->queue = &queue;
  impl->queue_mutex = &queue_mutex;
  impl->env = &env;
  impl->senders = senders;
  impl->handler = handler ? std::move(handler) : SyslogDatagram();
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  std::unique_ptr<UdpReceiver> receiver(new UdpReceiver(std::move(impl)));
  receiver->port_ = BoundPort(*fd);
  return receiver;
}

void UdpReceiver::Stop() {
  if (!impl_ || impl_->fd < 0) return;
  impl_->stopping = true;
  if (impl_->thread.joinable()) impl_->thread.join();
  ::close(impl_->fd);
  impl_->fd = -1;
}

UdpReceiver::Counters UdpReceiver::counters() const {
  return {impl_->datagrams.load(), impl_->queued.load(), impl_->dropped.load(),
          impl_->rejected.load()};
}

}  // namespace bulwark::receive
