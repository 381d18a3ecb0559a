#pragma once
// An HTTP server on loopback that fails every request: answering with one status, or never
// answering (status 0), for tests of clients against a cloud that breaks. Stops with the object.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

namespace bulwark::testing_support {

// A server on loopback that answers every request with `status` (0: never answers).
class BrokenApi {
 public:
  explicit BrokenApi(int status) : status_(status) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address);
    listen(fd_, 16);
    socklen_t length = sizeof address;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        int client = accept(fd_, nullptr, nullptr);
        if (client < 0) return;
        char buffer[4096];
        (void)!read(client, buffer, sizeof buffer);
        if (status_ != 0) {
          std::string answer = "HTTP/1.1 " + std::to_string(status_) +
                               " Broken\r\nContent-Length: 5\r\nConnection: close\r\n\r\noops\n";
          (void)!write(client, answer.data(), answer.size());
          close(client);
        } else {
          held_.push_back(client);  // never answered
        }
      }
    });
  }
  ~BrokenApi() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (int client : held_) close(client);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int status_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> held_;
  std::thread thread_;
};

}  // namespace bulwark::testing_support
