#pragma once
// An IMAP mailbox (RFC 9051 over TLS, through libcurl): list, fetch, move, append, delete by UID.
// Folder names are written with "/" as the hierarchy separator ("Bulwark/Processed"); the
// server's own separator (Dovecot's Maildir++ uses ".") is asked for and used. One connection
// is kept and reused. Not thread-safe: one Mailbox per thread.
//
// PollMailbox() is the intake loop's step: every message of the folder goes to a handler; read
// ones are moved to the processed folder, rejected ones are stored in the failed folder with an
// "X-Bulwark-Rejected: <reason>" header added on top and removed from the folder.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"

namespace bulwark::imap {

struct Settings {
  std::string url;  // imaps://host[:port]/FOLDER (imap:// only with STARTTLS required)
  std::string username;
  std::string password;
  bool verify_peer = true;
  std::string ca_file;  // PEM; empty: the system's CAs
  long timeout_seconds = 60;
};

class Mailbox {
 public:
  // Errors: a URL that is not imap:// or imaps:// with a folder.
  static Result<std::unique_ptr<Mailbox>> Open(Settings settings);
  ~Mailbox();

  const std::string& folder() const { return folder_; }
  // UIDs of all messages in the folder, ascending. Errors carry the server's answer.
  Result<std::vector<uint32_t>> List();
  // The whole message (RFC 5322 bytes).
  Result<std::string> Fetch(uint32_t uid);
  // Moves a message to `folder` (created when missing; RFC 6851 MOVE).
  Result<void> Move(uint32_t uid, const std::string& folder);
  // Stores `message` in `folder` (created when missing).
  Result<void> Append(const std::string& folder, std::string_view message);
  // Flags a message \Deleted and expunges it.
  Result<void> Delete(uint32_t uid);

 private:
  Mailbox() = default;
  Result<std::string> Command(const std::string& folder, const std::string& command);
  // One request: `command` (empty: fetch or append), `suffix` after the folder (";UID=n"),
  // `upload` the message to APPEND.
  Result<std::string> Perform(const std::string& folder, const std::string& command,
                              const std::string& suffix, std::string_view* upload);
  Result<void> Create(const std::string& folder);
  Result<std::string> ServerName(const std::string& folder);  // "/" -> the server's separator
  std::string FolderUrl(const std::string& server_folder) const;

  struct Curl;
  std::unique_ptr<Curl> curl_;
  Settings settings_;
  std::string base_;    // imaps://host:port
  std::string folder_;  // as configured
  char separator_ = 0;  // learned on first use
};

struct PollStats {
  size_t processed = 0;
  size_t failed = 0;
};

// What to do with one message: Result<void> = read (moved to `processed`), an Error = rejected
// (stored in `failed` with the reason, removed from the folder).
using MessageHandler = std::function<Result<void>(std::string_view message, uint32_t uid)>;

// One round over the folder. Errors: the server could not be reached or refused a command (the
// message in hand stays in the folder and is tried again next round).
Result<PollStats> PollMailbox(Mailbox& mailbox, const std::string& processed_folder,
                              const std::string& failed_folder, const MessageHandler& handler);

// `message` with "X-Bulwark-Rejected: <reason>" as its first header line (the reason folded to
// one line of printable ASCII).
std::string WithRejectionHeader(std::string_view message, std::string_view reason);

}  // namespace bulwark::imap
