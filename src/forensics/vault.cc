#include "bulwark/forensics/vault.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <simdjson.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "bulwark/core/digest.h"
#include "bulwark/core/json_writer.h"

namespace bulwark::forensics {

namespace fs = std::filesystem;

namespace {

bool IsHex64(std::string_view text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

// Writes `content` to `path` durably: a temporary file beside it, fsync, rename, fsync of the
// directory.
Result<void> WriteDurably(const std::string& path, std::string_view content, bool read_only) {
  std::string temporary = path + ".tmp";
  int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(fmt::format("{}: {}", temporary, std::strerror(errno)));
  size_t written = 0;
  while (written < content.size()) {
    ssize_t n = write(fd, content.data() + written, content.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      int error = errno;
      close(fd);
      return Fail(fmt::format("{}: {}", temporary, std::strerror(error)));
    }
    written += static_cast<size_t>(n);
  }
  if (read_only) fchmod(fd, 0444);
  if (fsync(fd) != 0 || close(fd) != 0) {
    return Fail(fmt::format("{}: {}", temporary, std::strerror(errno)));
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) {
    return Fail(fmt::format("{}: {}", path, std::strerror(errno)));
  }
  int dir = open(fs::path(path).parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    fsync(dir);
    close(dir);
  }
  return {};
}

// SHA-256 and size of a file, read in chunks.
Result<std::pair<std::string, uint64_t>> HashFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Fail(fmt::format("{}: cannot be read", path));
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  std::vector<char> buffer(1 << 20);
  uint64_t size = 0;
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    auto n = in.gcount();
    if (n > 0) {
      EVP_DigestUpdate(ctx, buffer.data(), static_cast<size_t>(n));
      size += static_cast<uint64_t>(n);
    }
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx, digest, &length);
  EVP_MD_CTX_free(ctx);
  if (in.bad()) return Fail(fmt::format("{}: read error", path));
  return std::make_pair(HexEncode(std::string_view(reinterpret_cast<char*>(digest), length)), size);
}

std::string JsonText(simdjson::dom::element e, const char* key) {
  std::string_view value;
  return e[key].get_string().get(value) == simdjson::SUCCESS ? std::string(value) : "";
}
int64_t JsonInt(simdjson::dom::element e, const char* key) {
  int64_t value = 0;
  return e[key].get_int64().get(value) == simdjson::SUCCESS ? value : 0;
}

std::optional<EvidenceItem> ParseItem(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(text.data(), text.size()).get(e) != simdjson::SUCCESS) return std::nullopt;
  EvidenceItem item;
  item.sha256 = JsonText(e, "sha256");
  item.size = static_cast<uint64_t>(JsonInt(e, "size"));
  item.name = JsonText(e, "name");
  item.incident_id = JsonInt(e, "incident_id");
  item.system_id = JsonText(e, "system_id");
  item.kind = JsonText(e, "kind");
  item.method = JsonText(e, "method");
  item.tool = JsonText(e, "tool");
  item.tool_version = JsonText(e, "tool_version");
  item.acquired_at = JsonInt(e, "acquired_at_ns");
  item.acquired_by = JsonText(e, "acquired_by");
  item.clock_note = JsonText(e, "clock_note");
  return item;
}

}  // namespace

std::string CustodyHash(const CustodyEntry& e) {
  std::string data;
  AppendHashField(data, e.prev_hash);
  AppendHashField(data, std::to_string(e.seq));
  AppendHashField(data, std::to_string(e.at));
  AppendHashField(data, e.actor);
  AppendHashField(data, e.action);
  AppendHashField(data, e.sha256);
  AppendHashField(data, std::to_string(e.incident_id));
  AppendHashField(data, e.detail);
  return Sha256Hex(data);
}

std::string CustodyJson(const CustodyEntry& e) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  json.Member("seq", e.seq);
  json.Member("at", FormatTimestamp(e.at));
  json.Member("at_ns", static_cast<int64_t>(e.at));
  json.Member("actor", e.actor);
  json.Member("action", e.action);
  json.Member("sha256", e.sha256);
  json.Member("incident_id", e.incident_id);
  json.Member("detail", e.detail);
  json.Member("prev_hash", e.prev_hash);
  json.Member("hash", e.hash);
  json.EndObject();
  return out;
}

std::optional<CustodyEntry> ParseCustody(std::string_view line) {
  simdjson::dom::parser parser;
  simdjson::dom::element e;
  if (parser.parse(line.data(), line.size()).get(e) != simdjson::SUCCESS) return std::nullopt;
  CustodyEntry entry;
  entry.seq = JsonInt(e, "seq");
  entry.at = JsonInt(e, "at_ns");
  entry.actor = JsonText(e, "actor");
  entry.action = JsonText(e, "action");
  entry.sha256 = JsonText(e, "sha256");
  entry.incident_id = JsonInt(e, "incident_id");
  entry.detail = JsonText(e, "detail");
  entry.prev_hash = JsonText(e, "prev_hash");
  entry.hash = JsonText(e, "hash");
  return entry;
}

std::string ItemJson(const EvidenceItem& item) {
  std::string out;
  JsonWriter json(out);
  json.BeginObject();
  json.Member("sha256", item.sha256);
  json.Member("size", static_cast<int64_t>(item.size));
  json.Member("name", item.name);
  json.Member("incident_id", item.incident_id);
  json.Member("system_id", item.system_id);
  json.Member("kind", item.kind);
  json.Member("method", item.method);
  json.Member("tool", item.tool);
  json.Member("tool_version", item.tool_version);
  json.Member("acquired_at", FormatTimestamp(item.acquired_at));
  json.Member("acquired_at_ns", static_cast<int64_t>(item.acquired_at));
  json.Member("acquired_by", item.acquired_by);
  json.Member("clock_note", item.clock_note);
  json.EndObject();
  return out;
}

Vault::Vault(std::string dir, Env& env, int lock_fd)
    : dir_(std::move(dir)), env_(env), lock_fd_(lock_fd) {}

Vault::~Vault() {
  if (lock_fd_ >= 0) close(lock_fd_);  // releases the lock
}

Result<std::unique_ptr<Vault>> Vault::Open(const std::string& dir, Env& env) {
  std::error_code error;
  for (const char* sub : {"objects", "items"}) {
    fs::create_directories(fs::path(dir) / sub, error);
    if (error) return Fail(fmt::format("evidence vault {}: {}", dir, error.message()));
  }
  std::string lock_path = (fs::path(dir) / ".lock").string();
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(fmt::format("evidence vault {}: {}", dir, std::strerror(errno)));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return Fail(fmt::format("evidence vault {} is in use by another process", dir));
  }
  std::unique_ptr<Vault> vault(new Vault(dir, env, fd));
  auto entries = vault->Custody();
  if (!entries) return tl::unexpected(entries.error());
  for (const auto& entry : *entries) {
    vault->head_ = entry.hash;
    vault->next_seq_ = entry.seq + 1;
    if (entry.action == "hold") vault->holds_.insert(entry.incident_id);
    if (entry.action == "release") vault->holds_.erase(entry.incident_id);
    if (entry.action == "agreement") vault->agreements_.insert(entry.incident_id);
    if (entry.action == "agreement_withdrawn") vault->agreements_.erase(entry.incident_id);
  }
  return vault;
}

std::string Vault::ObjectPath(const std::string& sha256) const {
  return (fs::path(dir_) / "objects" / sha256.substr(0, 2) / sha256).string();
}

Result<CustodyEntry> Vault::Append(CustodyEntry entry) {
  entry.seq = next_seq_;
  if (entry.at == 0) entry.at = env_.Now();
  entry.prev_hash = head_;
  entry.hash = CustodyHash(entry);
  std::string line = CustodyJson(entry) + "\n";
  std::string path = (fs::path(dir_) / "custody.jsonl").string();
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Fail(fmt::format("{}: {}", path, std::strerror(errno)));
  off_t before = lseek(fd, 0, SEEK_END);
  bool ok =
      write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && fsync(fd) == 0;
  int error = errno;
  // A failed append leaves no torn line behind (the chain stays readable); the entry is not made.
  if (!ok && before >= 0 && ftruncate(fd, before) == 0) fsync(fd);
  close(fd);
  if (!ok) return Fail(fmt::format("{}: {}", path, std::strerror(error)));
  head_ = entry.hash;
  ++next_seq_;
  return entry;
}

Result<EvidenceItem> Vault::Record(EvidenceItem item) {
  if (item.acquired_at == 0) item.acquired_at = env_.Now();
  if (item.name.empty()) item.name = item.sha256.substr(0, 16);
  std::string meta = (fs::path(dir_) / "items" / (item.sha256 + ".json")).string();
  if (!fs::exists(meta)) {
    if (auto written = WriteDurably(meta, ItemJson(item), false); !written) {
      return tl::unexpected(written.error());
    }
  }
  CustodyEntry entry;
  entry.at = item.acquired_at;
  entry.actor = item.acquired_by;
  entry.action = "acquired";
  entry.sha256 = item.sha256;
  entry.incident_id = item.incident_id;
  entry.detail = fmt::format("{} of {} ({}; {} {})", item.kind, item.system_id, item.method,
                             item.tool, item.tool_version);
  auto appended = Append(entry);
  if (!appended) return tl::unexpected(appended.error());
  return item;
}

Result<EvidenceItem> Vault::Add(std::string_view content, EvidenceItem item) {
  std::lock_guard lock(mutex_);
  item.sha256 = Sha256Hex(content);
  item.size = content.size();
  std::string path = ObjectPath(item.sha256);
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  if (!fs::exists(path)) {
    if (auto written = WriteDurably(path, content, true); !written) {
      return tl::unexpected(written.error());
    }
  }
  return Record(std::move(item));
}

Result<EvidenceItem> Vault::AddFile(const std::string& file, EvidenceItem item) {
  std::lock_guard lock(mutex_);
  auto hashed = HashFile(file);
  if (!hashed) return tl::unexpected(hashed.error());
  item.sha256 = hashed->first;
  item.size = hashed->second;
  std::string path = ObjectPath(item.sha256);
  std::error_code error;
  fs::create_directories(fs::path(path).parent_path(), error);
  if (!fs::exists(path)) {
    std::string temporary = path + ".tmp";
    fs::copy_file(file, temporary, fs::copy_options::overwrite_existing, error);
    if (error) return Fail(fmt::format("{}: {}", file, error.message()));
    // The copy must be what was hashed: a file still being written would differ.
    auto copied = HashFile(temporary);
    if (!copied || copied->first != item.sha256) {
      fs::remove(temporary, error);
      return Fail(fmt::format("{} changed while it was stored", file));
    }
    int fd = open(temporary.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      fchmod(fd, 0444);
      fsync(fd);
      close(fd);
    }
    fs::rename(temporary, path, error);
    if (error) return Fail(fmt::format("{}: {}", path, error.message()));
  }
  return Record(std::move(item));
}

Result<CustodyEntry> Vault::Transfer(const std::string& sha256, const std::string& actor,
                                     const std::string& to, const std::string& why) {
  std::lock_guard lock(mutex_);
  if (!IsHex64(sha256) || !fs::exists(ObjectPath(sha256))) {
    return Fail(fmt::format("no evidence {}", sha256));
  }
  CustodyEntry entry;
  entry.actor = actor;
  entry.action = "transferred";
  entry.sha256 = sha256;
  entry.detail = fmt::format("to {}: {}", to, why);
  return Append(entry);
}

Result<std::vector<EvidenceItem>> Vault::Items(int64_t incident_id) const {
  auto entries = Custody();
  if (!entries) return tl::unexpected(entries.error());
  // One item per object and incident it was acquired for (the same capture can serve two
  // incidents); the metadata file is the first acquisition's, the incident each entry's own.
  std::set<std::string> deleted;
  for (const auto& entry : *entries) {
    if (entry.action == "deleted") deleted.insert(entry.sha256);
  }
  std::vector<EvidenceItem> items;
  std::set<std::pair<std::string, int64_t>> seen;
  for (const auto& entry : *entries) {
    if (entry.action != "acquired" || deleted.count(entry.sha256)) continue;
    if (incident_id != 0 && entry.incident_id != incident_id) continue;
    if (!seen.insert({entry.sha256, entry.incident_id}).second) continue;
    std::string path = (fs::path(dir_) / "items" / (entry.sha256 + ".json")).string();
    auto text = env_.ReadFile(path);
    if (!text) return Fail(fmt::format("evidence {}: its metadata is missing", entry.sha256));
    auto item = ParseItem(*text);
    if (!item) return Fail(fmt::format("{}: not an evidence record", path));
    item->incident_id = entry.incident_id;
    items.push_back(std::move(*item));
  }
  return items;
}

Result<std::vector<CustodyEntry>> Vault::Custody() const {
  std::vector<CustodyEntry> entries;
  std::string path = (fs::path(dir_) / "custody.jsonl").string();
  if (!fs::exists(path)) return entries;
  auto text = env_.ReadFile(path);
  if (!text) return tl::unexpected(text.error());
  size_t start = 0, line = 1;
  while (start < text->size()) {
    size_t end = text->find('\n', start);
    if (end == std::string::npos) end = text->size();
    std::string_view one(text->data() + start, end - start);
    if (!one.empty()) {
      auto entry = ParseCustody(one);
      if (!entry) return Fail("not a custody entry", fmt::format("{}:{}", path, line));
      entries.push_back(std::move(*entry));
    }
    start = end + 1;
    ++line;
  }
  return entries;
}

Result<std::string> Vault::Read(const std::string& sha256) const {
  if (!IsHex64(sha256)) return Fail(fmt::format("'{}' is not a SHA-256", sha256));
  return env_.ReadFile(ObjectPath(sha256));
}

Result<void> Vault::Hold(int64_t incident_id, const std::string& actor, const std::string& why) {
  return SetMark(holds_, "hold", "release", incident_id, true, actor, why);
}

Result<void> Vault::Release(int64_t incident_id, const std::string& actor, const std::string& why) {
  return SetMark(holds_, "hold", "release", incident_id, false, actor, why);
}

Result<void> Vault::RecordAgreement(int64_t incident_id, const std::string& actor,
                                    const std::string& how) {
  return SetMark(agreements_, "agreement", "agreement_withdrawn", incident_id, true, actor, how);
}

Result<void> Vault::WithdrawAgreement(int64_t incident_id, const std::string& actor,
                                      const std::string& how) {
  return SetMark(agreements_, "agreement", "agreement_withdrawn", incident_id, false, actor, how);
}

bool Vault::HasAgreement(int64_t incident_id) const {
  std::lock_guard lock(mutex_);
  return agreements_.count(incident_id) > 0;
}

Result<void> Vault::SetMark(std::set<int64_t>& set, const char* on_action, const char* off_action,
                            int64_t incident_id, bool on, const std::string& actor,
                            const std::string& why) {
  std::lock_guard lock(mutex_);
  bool marked = set.count(incident_id) > 0;
  if (marked == on) {
    if (on) return {};  // recorded already
    return Fail(fmt::format("incident {} has no {}", incident_id, on_action));
  }
  CustodyEntry entry;
  entry.actor = actor;
  entry.action = on ? on_action : off_action;
  entry.incident_id = incident_id;
  entry.detail = why;
  auto appended = Append(entry);
  if (!appended) return tl::unexpected(appended.error());
  if (on) {
    set.insert(incident_id);
  } else {
    set.erase(incident_id);
  }
  return {};
}

bool Vault::OnHold(int64_t incident_id) const {
  std::lock_guard lock(mutex_);
  return holds_.count(incident_id) > 0;
}

Result<void> Vault::Delete(const std::string& sha256, const std::string& actor,
                           const std::string& why) {
  auto items = Items();
  if (!items) return tl::unexpected(items.error());
  std::lock_guard lock(mutex_);
  std::vector<int64_t> incidents;
  for (const auto& item : *items) {
    if (item.sha256 == sha256) incidents.push_back(item.incident_id);
  }
  if (incidents.empty()) return Fail(fmt::format("no evidence {}", sha256));
  for (int64_t incident : incidents) {
    if (holds_.count(incident)) {
      return Fail(fmt::format("evidence {} belongs to incident {}, which is on legal hold", sha256,
                              incident));
    }
  }
  std::error_code error;
  fs::permissions(ObjectPath(sha256), fs::perms::owner_write, fs::perm_options::add, error);
  fs::remove(ObjectPath(sha256), error);
  fs::remove(fs::path(dir_) / "items" / (sha256 + ".json"), error);
  CustodyEntry entry;
  entry.actor = actor;
  entry.action = "deleted";
  entry.sha256 = sha256;
  entry.detail = why;
  auto appended = Append(entry);
  if (!appended) return tl::unexpected(appended.error());
  return {};
}

Result<VaultVerdict> Vault::Verify(const std::string& actor) {
  VaultVerdict verdict;
  auto entries = Custody();
  if (!entries) return tl::unexpected(entries.error());
  std::string previous;
  int64_t expected = 1;
  for (const auto& entry : *entries) {
    ++verdict.entries;
    if (entry.seq != expected) {
      verdict.problems.push_back(
          fmt::format("custody entry {}: expected entry {}", entry.seq, expected));
    } else if (entry.prev_hash != previous) {
      verdict.problems.push_back(
          fmt::format("custody entry {}: does not link to the entry before it", entry.seq));
    } else if (CustodyHash(entry) != entry.hash) {
      verdict.problems.push_back(
          fmt::format("custody entry {}: its content does not match its hash (edited)", entry.seq));
    }
    previous = entry.hash;
    expected = entry.seq + 1;
  }
  verdict.head = previous;
  // Every object the chain says was acquired and not deleted must be there, unchanged, with its
  // metadata.
  std::set<std::string> deleted, checked;
  for (const auto& entry : *entries) {
    if (entry.action == "deleted") deleted.insert(entry.sha256);
  }
  for (const auto& entry : *entries) {
    if (entry.action != "acquired" || deleted.count(entry.sha256) ||
        !checked.insert(entry.sha256).second) {
      continue;
    }
    ++verdict.items;
    auto text = env_.ReadFile((fs::path(dir_) / "items" / (entry.sha256 + ".json")).string());
    auto item = text ? ParseItem(*text) : std::nullopt;
    auto hashed = HashFile(ObjectPath(entry.sha256));
    if (!hashed) {
      verdict.problems.push_back(fmt::format("evidence {}: missing", entry.sha256));
    } else if (hashed->first != entry.sha256) {
      verdict.problems.push_back(
          fmt::format("evidence {}: its content does not match its hash (changed)", entry.sha256));
    } else if (!item || item->sha256 != entry.sha256 || item->size != hashed->second) {
      verdict.problems.push_back(
          fmt::format("evidence {}: its metadata is missing or does not match", entry.sha256));
    }
  }
  verdict.ok = verdict.problems.empty();
  std::lock_guard lock(mutex_);
  CustodyEntry entry;
  entry.actor = actor;
  entry.action = "verified";
  entry.detail = verdict.ok
                     ? fmt::format("{} items, {} entries intact", verdict.items, verdict.entries)
                     : fmt::format("{} problems", verdict.problems.size());
  auto appended = Append(entry);
  if (!appended) return tl::unexpected(appended.error());
  return verdict;
}

Result<std::string> Vault::Export(int64_t incident_id, const std::string& out_dir,
                                  const std::string& actor, const std::string& to,
                                  const std::string& timeline_json,
                                  const std::string& timeline_html) {
  std::error_code error;
  fs::create_directories(out_dir, error);
  if (error) return Fail(fmt::format("{}: {}", out_dir, error.message()));
  if (!fs::is_empty(out_dir, error)) return Fail(fmt::format("{} is not empty", out_dir));
  auto items = Items(incident_id);
  if (!items) return tl::unexpected(items.error());
  auto entries = Custody();
  if (!entries) return tl::unexpected(entries.error());
  std::set<std::string> mine;
  for (const auto& item : *items) mine.insert(item.sha256);
  std::vector<std::pair<std::string, std::string>> files;  // name, content
  std::set<std::string> names;
  for (const auto& item : *items) {
    auto content = Read(item.sha256);
    if (!content) return tl::unexpected(content.error());
    std::string name = "evidence/" + item.sha256.substr(0, 12) + "-" + item.name;
    if (!names.insert(name).second) continue;
    files.emplace_back(name, std::move(*content));
    files.emplace_back(name + ".json", ItemJson(item) + "\n");
  }
  std::string custody;
  for (const auto& entry : *entries) {
    if (mine.count(entry.sha256) || (entry.sha256.empty() && entry.incident_id == incident_id)) {
      custody += CustodyJson(entry) + "\n";
    }
  }
  files.emplace_back("custody.jsonl", custody);
  files.emplace_back("timeline.json", timeline_json);
  files.emplace_back("timeline.html", timeline_html);
  std::string manifest;
  for (const auto& [name, content] : files) {
    fs::create_directories((fs::path(out_dir) / name).parent_path(), error);
    if (auto written = WriteDurably((fs::path(out_dir) / name).string(), content, false);
        !written) {
      return tl::unexpected(written.error());
    }
    manifest += Sha256Hex(content) + "  " + name + "\n";
  }
  if (auto written =
          WriteDurably((fs::path(out_dir) / "MANIFEST.sha256").string(), manifest, false);
      !written) {
    return tl::unexpected(written.error());
  }
  std::lock_guard lock(mutex_);
  CustodyEntry entry;
  entry.actor = actor;
  entry.action = "exported";
  entry.incident_id = incident_id;
  entry.detail =
      fmt::format("{} items to {} (manifest sha256 {})", items->size(), to, Sha256Hex(manifest));
  auto appended = Append(entry);
  if (!appended) return tl::unexpected(appended.error());
  return manifest;
}

}  // namespace bulwark::forensics
