#include "bulwark/imap/mailbox.h"

#include <curl/curl.h>
#include <fmt/format.h>

#include <algorithm>

#include "bulwark/core/strings.h"

namespace bulwark::imap {
namespace {

size_t Collect(char* data, size_t size, size_t items, void* out) {
  static_cast<std::string*>(out)->append(data, size * items);
  return size * items;
}

// Keeps the server's response lines (for the reason of a NO or BAD).
int Debug(CURL*, curl_infotype type, char* data, size_t size, void* out) {
  if (type == CURLINFO_HEADER_IN) static_cast<std::string*>(out)->append(data, size);
  return 0;
}

struct Upload {
  std::string_view data;
  size_t offset = 0;
};

size_t Feed(char* buffer, size_t size, size_t items, void* in) {
  auto* upload = static_cast<Upload*>(in);
  size_t n = std::min(size * items, upload->data.size() - upload->offset);
  std::copy_n(upload->data.data() + upload->offset, n, buffer);
  upload->offset += n;
  return n;
}

// The server's refusal ("A004 NO [ALREADYEXISTS] Mailbox already exists"), for errors: the
// last tagged NO or BAD line, else the last tagged line.
std::string LastStatus(const std::string& lines) {
  std::string last, refusal;
  for (std::string_view line : Split(lines, '\n')) {
    line = Trim(line);
    if (line.empty() || line[0] == '*' || line[0] == '+') continue;
    last = std::string(line);
    size_t space = line.find(' ');
    std::string_view status = space == std::string_view::npos ? "" : line.substr(space + 1);
    if (status.starts_with("NO") || status.starts_with("BAD")) refusal = last;
  }
  return refusal.empty() ? last : refusal;
}

// A folder name as an IMAP quoted string.
std::string Quoted(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

struct Mailbox::Curl {
  CURL* handle = curl_easy_init();
  ~Curl() { curl_easy_cleanup(handle); }
};

Mailbox::~Mailbox() = default;

Result<std::unique_ptr<Mailbox>> Mailbox::Open(Settings settings) {
  std::string_view url = settings.url;
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos ||
      (url.substr(0, scheme) != "imaps" && url.substr(0, scheme) != "imap")) {
    return Fail("reports.imap.url: expected imaps://host[:port]/FOLDER, not '" + settings.url +
                "'");
  }
  size_t slash = url.find('/', scheme + 3);
  std::unique_ptr<Mailbox> mailbox(new Mailbox());
  mailbox->base_ = std::string(url.substr(0, slash));
  mailbox->folder_ = slash == std::string_view::npos ? "INBOX" : std::string(url.substr(slash + 1));
  if (mailbox->folder_.empty()) mailbox->folder_ = "INBOX";
  mailbox->settings_ = std::move(settings);
  mailbox->curl_ = std::make_unique<Curl>();
  if (!mailbox->curl_->handle) return Fail("libcurl could not be initialised");
  return mailbox;
}

std::string Mailbox::FolderUrl(const std::string& server_folder) const {
  char* escaped = curl_easy_escape(curl_->handle, server_folder.c_str(),
                                   static_cast<int>(server_folder.size()));
  std::string url = base_ + "/" + (escaped ? escaped : "");
  curl_free(escaped);
  return url;
}

Result<std::string> Mailbox::Command(const std::string& folder, const std::string& command) {
  return Perform(folder, command, "", nullptr);
}

Result<std::string> Mailbox::Perform(const std::string& folder, const std::string& command,
                                     const std::string& suffix, std::string_view* upload) {
  CURL* curl = curl_->handle;
  curl_easy_reset(curl);
  std::string body, lines;
  std::string url = (folder.empty() ? base_ + "/" : FolderUrl(folder)) + suffix;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  Upload feed;
  if (upload) {
    feed.data = *upload;
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, Feed);
    curl_easy_setopt(curl, CURLOPT_READDATA, &feed);
    curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(upload->size()));
  }
  curl_easy_setopt(curl, CURLOPT_USERNAME, settings_.username.c_str());
  curl_easy_setopt(curl, CURLOPT_PASSWORD, settings_.password.c_str());
  curl_easy_setopt(curl, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, settings_.verify_peer ? 1L : 0L);
  curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, settings_.verify_peer ? 2L : 0L);
  if (!settings_.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, settings_.ca_file.c_str());
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, settings_.timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_DEBUGFUNCTION, Debug);
  curl_easy_setopt(curl, CURLOPT_DEBUGDATA, &lines);
  curl_easy_setopt(curl, CURLOPT_VERBOSE, 1L);
  if (!command.empty()) curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, command.c_str());
  CURLcode code = curl_easy_perform(curl);
  if (code != CURLE_OK) {
    std::string status = LastStatus(lines);
    return Fail(fmt::format("IMAP {}{}: {}{}",
                            !command.empty() ? command
                            : upload         ? "APPEND"
                                             : "FETCH",
                            folder.empty() ? "" : " in " + folder, curl_easy_strerror(code),
                            status.empty() ? "" : " (" + status + ")"),
                base_);
  }
  return body;
}

Result<std::string> Mailbox::ServerName(const std::string& folder) {
  if (separator_ == 0) {
    auto listed = Command("", "LIST \"\" \"\"");
    if (!listed) return tl::unexpected(listed.error());
    // * LIST (\Noselect) "." ""
    separator_ = '/';
    size_t quote = listed->find('"');
    if (quote != std::string::npos && quote + 1 < listed->size() && (*listed)[quote + 1] != '"') {
      separator_ = (*listed)[quote + 1];
    }
  }
  std::string name = folder;
  std::replace(name.begin(), name.end(), '/', separator_);
  return name;
}

Result<void> Mailbox::Create(const std::string& server_folder) {
  auto created = Command("", "CREATE " + Quoted(server_folder));
  if (!created && created.error().message.find("ALREADYEXISTS") == std::string::npos &&
      created.error().message.find("already exists") == std::string::npos) {
    return tl::unexpected(created.error());
  }
  return {};
}

Result<std::vector<uint32_t>> Mailbox::List() {
  auto folder = ServerName(folder_);
  if (!folder) return tl::unexpected(folder.error());
  auto answer = Command(*folder, "UID SEARCH ALL");
  if (!answer) return tl::unexpected(answer.error());
  std::vector<uint32_t> uids;
  for (std::string_view line : Split(*answer, '\n')) {
    line = Trim(line);
    if (!line.starts_with("* SEARCH")) continue;
    for (std::string_view word : Split(line.substr(8), ' ')) {
      if (auto uid = ParseInt(Trim(word)); uid && *uid > 0) uids.push_back(uint32_t(*uid));
    }
  }
  std::sort(uids.begin(), uids.end());
  return uids;
}

Result<std::string> Mailbox::Fetch(uint32_t uid) {
  auto folder = ServerName(folder_);
  if (!folder) return tl::unexpected(folder.error());
  // The URL form ";UID=n" makes libcurl fetch the whole message (BODY[]).
  return Perform(*folder, "", ";UID=" + std::to_string(uid), nullptr);
}

Result<void> Mailbox::Move(uint32_t uid, const std::string& target) {
  auto folder = ServerName(folder_);
  if (!folder) return tl::unexpected(folder.error());
  auto server_target = ServerName(target);
  if (!server_target) return tl::unexpected(server_target.error());
  if (auto created = Create(*server_target); !created) return created;
  auto moved = Command(*folder, fmt::format("UID MOVE {} {}", uid, Quoted(*server_target)));
  if (!moved) return tl::unexpected(moved.error());
  return {};
}

Result<void> Mailbox::Append(const std::string& target, std::string_view message) {
  auto server_target = ServerName(target);
  if (!server_target) return tl::unexpected(server_target.error());
  if (auto created = Create(*server_target); !created) return created;
  auto appended = Perform(*server_target, "", "", &message);
  if (!appended) return tl::unexpected(appended.error());
  return {};
}

Result<void> Mailbox::Delete(uint32_t uid) {
  auto folder = ServerName(folder_);
  if (!folder) return tl::unexpected(folder.error());
  auto flagged = Command(*folder, fmt::format("UID STORE {} +FLAGS.SILENT (\\Deleted)", uid));
  if (!flagged) return tl::unexpected(flagged.error());
  auto expunged = Command(*folder, fmt::format("UID EXPUNGE {}", uid));
  if (!expunged) return tl::unexpected(expunged.error());
  return {};
}

std::string WithRejectionHeader(std::string_view message, std::string_view reason) {
  std::string line = "X-Bulwark-Rejected: ";
  for (char c : reason) {
    if (line.size() >= 900) {
      line += "...";
      break;
    }
    line += (c >= ' ' && c <= '~') ? c : ' ';
  }
  line += "\r\n";
  // An mbox "From " line stays first.
  if (message.starts_with("From ")) {
    size_t end = message.find('\n');
    std::string_view first = message.substr(0, end == std::string_view::npos ? end : end + 1);
    return std::string(first) + line + std::string(message.substr(first.size()));
  }
  return line + std::string(message);
}

Result<PollStats> PollMailbox(Mailbox& mailbox, const std::string& processed_folder,
                              const std::string& failed_folder, const MessageHandler& handler) {
  PollStats stats;
  auto uids = mailbox.List();
  if (!uids) return tl::unexpected(uids.error());
  for (uint32_t uid : *uids) {
    auto message = mailbox.Fetch(uid);
    if (!message) return tl::unexpected(message.error());
    auto handled = handler(*message, uid);
    if (handled) {
      if (auto moved = mailbox.Move(uid, processed_folder); !moved) {
        return tl::unexpected(moved.error());
      }
      ++stats.processed;
      continue;
    }
    if (auto stored = mailbox.Append(failed_folder,
                                     WithRejectionHeader(*message, handled.error().ToString()));
        !stored) {
      return tl::unexpected(stored.error());
    }
    if (auto deleted = mailbox.Delete(uid); !deleted) return tl::unexpected(deleted.error());
    ++stats.failed;
  }
  return stats;
}

}  // namespace bulwark::imap
