#pragma once
// A real Dovecot IMAP server on 127.0.0.1 for tests: TLS only (a self-signed certificate made by
// openssl for this run), one user, Maildir storage in a temporary folder. Started with -F as a
// child of the test and stopped by its PID; the folder is removed afterwards.

#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "files.h"
#include "net.h"

namespace bulwark::testing_support {

class DovecotServer {
 public:
  static constexpr const char* kUser = "abuse";
  static constexpr const char* kPassword = "s3cret-for-tests";

  // Starts the server; `error()` says why when it did not.
  DovecotServer() {
    char dir[] = "/tmp/bwdovecotXXXXXX";
    if (!mkdtemp(dir)) {
      Failed("mkdtemp failed");
      return;
    }
    dir_ = dir;
    std::filesystem::permissions(dir_, std::filesystem::perms(0755));
    std::filesystem::create_directories(dir_ / "run");
    std::filesystem::create_directories(dir_ / "mail");
    passwd* nobody = getpwnam("nobody");
    if (!nobody) {
      Failed("no user 'nobody'");
      return;
    }
    if (chown((dir_ / "mail").c_str(), nobody->pw_uid, nobody->pw_gid) != 0) {
      {
        Failed("chown failed");
        return;
      }
    }
    std::string cert = (dir_ / "cert.pem").string(), key = (dir_ / "key.pem").string();
    std::string openssl =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
        "-addext subjectAltName=IP:127.0.0.1 -keyout " +
        key + " -out " + cert + " >/dev/null 2>&1";
    if (std::system(openssl.c_str()) != 0) {
      Failed("openssl could not make a certificate");
      return;
    }
    std::ofstream(dir_ / "passwd") << kUser << ":{PLAIN}" << kPassword << "\n";
    port_ = FreePort();
    std::ofstream(dir_ / "dovecot.conf")
        << "protocols = imap\nlisten = 127.0.0.1\n"
        << "base_dir = " << (dir_ / "run").string() << "\n"
        << "state_dir = " << (dir_ / "run").string() << "\n"
        << "log_path = " << (dir_ / "log").string() << "\n"
        << "instance_name = " << dir_.filename().string() << "\n"
        << "ssl = required\nssl_cert = <" << cert << "\nssl_key = <" << key << "\n"
        << "disable_plaintext_auth = yes\nauth_mechanisms = plain\n"
        << "passdb {\n  driver = passwd-file\n  args = scheme=PLAIN " << (dir_ / "passwd").string()
        << "\n}\n"
        << "userdb {\n  driver = static\n  args = uid=nobody gid=" << nobody->pw_gid
        << " home=" << (dir_ / "mail").string() << "/%u\n}\n"
        << "mail_location = maildir:~/Maildir\n"
        << "service imap-login {\n  chroot =\n  inet_listener imap {\n    port = 0\n  }\n"
        << "  inet_listener imaps {\n    port = " << port_ << "\n    ssl = yes\n  }\n}\n"
        << "service anvil {\n  chroot =\n}\n";
    pid_ = fork();
    if (pid_ == 0) {
      std::string conf = (dir_ / "dovecot.conf").string();
      FILE* out = std::freopen((dir_ / "stdout").c_str(), "a", stdout);
      (void)out;
      dup2(fileno(stdout), fileno(stderr));
      execl("/usr/sbin/dovecot", "dovecot", "-F", "-c", conf.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    for (int i = 0; i < 100 && !Accepts(port_); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!Accepts(port_)) Failed("dovecot did not start: " + Log());
  }

  ~DovecotServer() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    if (!dir_.empty()) RemoveTree(dir_);
  }

  const std::string& error() const { return error_; }
  int port() const { return port_; }
  std::string url(const std::string& folder = "INBOX") const {
    return "imaps://127.0.0.1:" + std::to_string(port_) + "/" + folder;
  }
  std::string ca_file() const { return (dir_ / "cert.pem").string(); }
  std::string Log() const {
    std::ifstream in(dir_ / "log");
    std::stringstream text;
    text << in.rdbuf();
    std::ifstream out(dir_ / "stdout");
    text << out.rdbuf();
    return text.str();
  }

 private:
  void Failed(std::string why) { error_ = std::move(why); }

  std::filesystem::path dir_;
  std::string error_;
  int port_ = 0;
  pid_t pid_ = 0;
};

}  // namespace bulwark::testing_support
