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

#include "bulwark/core/strings.h"

namespace bulwark::receive {

namespace {
constexpr size_t kQueuedHeader = 16 + 8;  // sender, arrival time
constexpr size_t kMaxDatagram = 65535;
constexpr int kBatch = 1024;

}  // namespace

std::string EncodeQueued(const QueuedMessage& message) {
  std::string out;
  out.reserve(kQueuedHeader + message.text.size());
  const auto& bytes = message.sender.bytes();
  out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  out.append(reinterpret_cast<const char*>(&message.received), sizeof message.received);
  out.append(message.text);
  return out;
}

Result<QueuedMessage> DecodeQueued(std::string_view record) {
  if (record.size() < kQueuedHeader) return Fail("a queued message shorter than its header");
  QueuedMessage message;
  std::array<uint8_t, 16> bytes;
  std::memcpy(bytes.data(), record.data(), 16);
  message.sender = event::IpAddress::FromBytes(bytes);
  std::memcpy(&message.received, record.data() + 16, sizeof message.received);
  message.text = std::string(record.substr(kQueuedHeader));
  return message;
}

struct UdpSyslogReceiver::Impl {
  int fd = -1;
  DurableQueue* queue = nullptr;
  std::mutex* queue_mutex = nullptr;
  const Env* env = nullptr;
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
        message.sender = Sender(from);
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
        } else {
          ++dropped;
        }
      }
      Sync(unsynced);
    }
    Sync(unsynced);
  }

  void Sync(int& unsynced) {
    if (unsynced == 0) return;
    std::lock_guard lock(*queue_mutex);
    (void)queue->Sync();
    unsynced = 0;
  }

  static event::IpAddress Sender(const sockaddr_storage& from) {
    if (from.ss_family == AF_INET) {
      const auto& v4 = reinterpret_cast<const sockaddr_in&>(from);
      return event::IpAddress::V4(ntohl(v4.sin_addr.s_addr));
    }
    std::array<uint8_t, 16> bytes{};
    std::memcpy(bytes.data(), &reinterpret_cast<const sockaddr_in6&>(from).sin6_addr, 16);
    return event::IpAddress::FromBytes(bytes);
  }
};

UdpSyslogReceiver::UdpSyslogReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

UdpSyslogReceiver::~UdpSyslogReceiver() {
  Stop();
}

Result<std::unique_ptr<UdpSyslogReceiver>> UdpSyslogReceiver::Start(const std::string& listen,
                                                                    DurableQueue& queue,
                                                                    std::mutex& queue_mutex,
                                                                    const Env& env) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Fail("expected HOST:PORT", listen);
  auto port = ParseInt(listen.substr(colon + 1));
  if (!port || *port < 0 || *port > 65535) return Fail("bad port", listen);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(*port));
  if (inet_pton(AF_INET, listen.substr(0, colon).c_str(), &address.sin_addr) != 1) {
    return Fail("not an IPv4 address", listen);
  }
  auto impl = std::make_unique<Impl>();
  impl->fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (impl->fd < 0) return Fail(std::strerror(errno), listen);
  int size = 8 << 20;  // room for bursts while the queue syncs
  setsockopt(impl->fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
  if (bind(impl->fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    std::string reason = std::strerror(errno);
    ::close(impl->fd);
    return Fail("cannot listen: " + reason, listen);
  }
  socklen_t length = sizeof address;
  getsockname(impl->fd, reinterpret_cast<sockaddr*>(&address), &length);
  impl->queue = &queue;
  impl->queue_mutex = &queue_mutex;
  impl->env = &env;
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->Run(); });
  std::unique_ptr<UdpSyslogReceiver> receiver(new UdpSyslogReceiver(std::move(impl)));
  receiver->port_ = ntohs(address.sin_port);
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
