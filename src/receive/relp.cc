#include "bulwark/receive/relp.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

extern "C" {  // librelp's header declares no C linkage of its own
#include <librelp.h>
}

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "bulwark/core/strings.h"
#include "bulwark/receive/message.h"

namespace bulwark::receive {

struct RelpReceiver::Impl {
  relpEngine_t* engine = nullptr;
  DurableQueue* queue = nullptr;
  std::mutex* queue_mutex = nullptr;
  const Env* env = nullptr;
  SenderStats* senders = nullptr;
  size_t max_message = 64 * 1024;
  std::thread thread;
  std::atomic<uint64_t> messages{0}, queued{0}, backpressure{0}, lost{0};
  std::atomic<bool> stopping{false};

  // librelp's callback: the message is on disk when this returns, and librelp then acknowledges
  // it.
  static relpRetVal OnMessage(void* user, unsigned char* /*hostname*/, unsigned char* ip,
                              unsigned char* text, size_t length) {
    auto* self = static_cast<Impl*>(user);
    ++self->messages;
    QueuedMessage message;
    message.sender =
        event::IpAddress::Parse(reinterpret_cast<const char*>(ip)).value_or(event::IpAddress());
    message.received = self->env->Now();
    std::string_view body(reinterpret_cast<const char*>(text), length);
    if (body.size() > self->max_message) {
      body = body.substr(0, self->max_message);
      self->Count(message.sender, "message_cut");
    }
    while (!body.empty() && (body.back() == '\n' || body.back() == '\r' || body.back() == '\0')) {
      body.remove_suffix(1);
    }
    message.text = std::string(body);
    std::string record = EncodeQueued(message);
    // librelp answers "200 OK" whatever this returns: a message is not let go before it is on
    // disk. A full queue makes the engine wait (and so every RELP client, through its window);
    // once stopping, the message goes in beyond the bound.
    bool waited = false;
    while (true) {
      std::unique_lock lock(*self->queue_mutex);
      auto bound = self->stopping ? DurableQueue::Bound::kExceed : DurableQueue::Bound::kKeep;
      auto appended = self->queue->Append(record, bound);
      if (appended) {
        auto synced = self->queue->Sync();
        lock.unlock();
        if (!synced) {
          ++self->lost;
          self->Count(message.sender, "lost_queue_failing");
          return RELP_RET_IO_ERR;
        }
        break;
      }
      if (appended.error().message != "full") {
        lock.unlock();
        ++self->lost;
        self->Count(message.sender, "lost_queue_failing");
        return RELP_RET_IO_ERR;
      }
      lock.unlock();
      if (!waited) {
        waited = true;
        ++self->backpressure;
        self->Count(message.sender, "waited_queue_full");
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ++self->queued;
    self->Count(message.sender, "messages");
    return RELP_RET_OK;
  }

  void Count(const event::IpAddress& sender, const char* what) {
    if (senders) senders->Add(sender, what);
  }

  // librelp calls its debug printer unconditionally; nothing is printed.
  static void NoDebugOutput(char* /*format*/, ...) {}
  // Session errors (a broken frame, a peer gone): librelp closes that session and goes on.
  static void OnError(void* user, char* /*object*/, char* /*message*/, relpRetVal /*code*/) {
    ++static_cast<Impl*>(user)->session_errors;
  }
  static void OnGenericError(char* /*object*/, char* /*message*/, relpRetVal /*code*/) {}

  std::atomic<uint64_t> session_errors{0};
  sockaddr_storage wake{};  // where Stop() connects to wake the engine
  socklen_t wake_length = 0;
};

RelpReceiver::RelpReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RelpReceiver::~RelpReceiver() {
  Stop();
}

Result<std::unique_ptr<RelpReceiver>> RelpReceiver::Start(const std::string& listen,
                                                          DurableQueue& queue,
                                                          std::mutex& queue_mutex, const Env& env,
                                                          SenderStats* senders,
                                                          size_t max_message) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Fail("expected HOST:PORT or [IPV6]:PORT", listen);
  auto port = ParseInt(listen.substr(colon + 1));
  if (!port || *port <= 0 || *port > 65535) {
    return Fail("bad port (RELP needs a fixed one)", listen);
  }
  std::string host = listen.substr(0, colon);
  bool v6 = host.size() >= 2 && host.front() == '[' && host.back() == ']';
  if (v6) host = host.substr(1, host.size() - 2);
  auto address = event::IpAddress::Parse(host);
  if (!address || address->is_v4() == v6) {
    return Fail(v6 ? "not an IPv6 address" : "not an IPv4 address (IPv6 goes in brackets)", listen);
  }
  auto impl = std::make_unique<Impl>();
  impl->queue = &queue;
  impl->queue_mutex = &queue_mutex;
  impl->env = &env;
  impl->senders = senders;
  impl->max_message = max_message;
  if (relpEngineConstruct(&impl->engine) != RELP_RET_OK) return Fail("cannot start librelp");
  auto fail = [&](const std::string& what) -> Result<std::unique_ptr<RelpReceiver>> {
    relpEngineDestruct(&impl->engine);
    return Fail(what, listen);
  };
  std::string port_text = std::to_string(*port);
  relpSrv_t* server = nullptr;
  // librelp takes its strings as unsigned char*; it copies them.
  auto bytes = [](std::string& text) { return reinterpret_cast<unsigned char*>(text.data()); };
  std::string syslog = "syslog";
  if (relpEngineSetDbgprint(impl->engine, &Impl::NoDebugOutput) != RELP_RET_OK ||
      relpEngineSetOnErr(impl->engine, &Impl::OnError) != RELP_RET_OK ||
      relpEngineSetOnGenericErr(impl->engine, &Impl::OnGenericError) != RELP_RET_OK ||
      relpEngineSetSyslogRcv2(impl->engine, &Impl::OnMessage) != RELP_RET_OK ||
      relpEngineSetEnableCmd(impl->engine, bytes(syslog), eRelpCmdState_Required) != RELP_RET_OK ||
      relpEngineSetFamily(impl->engine, v6 ? AF_INET6 : AF_INET) != RELP_RET_OK ||
      relpEngineSetDnsLookupMode(impl->engine, 0) != RELP_RET_OK ||
      relpEngineListnerConstruct(impl->engine, &server) != RELP_RET_OK) {
    return fail("cannot set up librelp");
  }
  relpSrvSetLstnPort(server, bytes(port_text));
  relpSrvSetLstnAddr(server, bytes(host));
  relpSrvSetUsrPtr(server, impl.get());
  // Frames a little over the message limit are taken (and the message cut) rather than refused.
  relpSrvSetMaxDataSize(server, max_message + 1024);
  relpSrvSetOversizeMode(server, RELP_OVERSIZE_TRUNCATE);
  relpRetVal listening = relpEngineListnerConstructFinalize(impl->engine, server);
  if (listening != RELP_RET_OK) {
    return fail(fmt::format("cannot listen (librelp error {})", static_cast<int>(listening)));
  }
  // The listening address, loopback for an unspecified one.
  if (v6) {
    auto& wake = reinterpret_cast<sockaddr_in6&>(impl->wake);
    wake.sin6_family = AF_INET6;
    wake.sin6_port = htons(static_cast<uint16_t>(*port));
    std::memcpy(&wake.sin6_addr, address->bytes().data(), 16);
    if (IN6_IS_ADDR_UNSPECIFIED(&wake.sin6_addr)) wake.sin6_addr = in6addr_loopback;
    impl->wake_length = sizeof wake;
  } else {
    auto& wake = reinterpret_cast<sockaddr_in&>(impl->wake);
    wake.sin_family = AF_INET;
    wake.sin_port = htons(static_cast<uint16_t>(*port));
    std::memcpy(&wake.sin_addr, address->bytes().data() + 12, 4);
    if (wake.sin_addr.s_addr == htonl(INADDR_ANY)) wake.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    impl->wake_length = sizeof wake;
  }
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { relpEngineRun(raw->engine); });
  std::unique_ptr<RelpReceiver> receiver(new RelpReceiver(std::move(impl)));
  receiver->port_ = static_cast<int>(*port);
  return receiver;
}

void RelpReceiver::Stop() {
  if (!impl_ || !impl_->engine) return;
  impl_->stopping = true;
  relpEngineSetStop(impl_->engine);
  // librelp's loop waits in epoll_wait without a timeout and looks at the stop flag only after
  // an event: a connection of our own wakes it.
  int fd = socket(impl_->wake.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    (void)connect(fd, reinterpret_cast<const sockaddr*>(&impl_->wake), impl_->wake_length);
    ::close(fd);
  }
  if (impl_->thread.joinable()) impl_->thread.join();
  relpEngineDestruct(&impl_->engine);
  impl_->engine = nullptr;
}

RelpReceiver::Counters RelpReceiver::counters() const {
  return {impl_->messages.load(), impl_->queued.load(), impl_->backpressure.load(),
          impl_->lost.load()};
}

}  // namespace bulwark::receive
