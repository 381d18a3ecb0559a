#include "bulwark/decode/audit.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <utility>

#include "bulwark/core/time.h"
#include "bulwark/event/fields.h"

namespace bulwark::decode {

namespace fid = event::fid;

namespace {

constexpr size_t kProcessSlots = 4096;

struct Syscall {
  int number;
  std::string_view name;
};

// The system calls security rules ask for, by architecture (numbers from the kernel's tables).
constexpr Syscall kX8664[] = {
    {0, "read"},           {1, "write"},         {2, "open"},           {9, "mmap"},
    {10, "mprotect"},      {16, "ioctl"},        {39, "getpid"},        {41, "socket"},
    {42, "connect"},       {43, "accept"},       {44, "sendto"},        {45, "recvfrom"},
    {49, "bind"},          {50, "listen"},       {54, "setsockopt"},    {56, "clone"},
    {57, "fork"},          {58, "vfork"},        {59, "execve"},        {62, "kill"},
    {63, "uname"},         {76, "truncate"},     {77, "ftruncate"},     {82, "rename"},
    {85, "creat"},         {86, "link"},         {87, "unlink"},        {88, "symlink"},
    {90, "chmod"},         {91, "fchmod"},       {92, "chown"},         {99, "sysinfo"},
    {101, "ptrace"},       {103, "syslog"},      {105, "setuid"},       {106, "setgid"},
    {113, "setreuid"},     {117, "setresuid"},   {126, "capset"},       {133, "mknod"},
    {135, "personality"},  {157, "prctl"},       {165, "mount"},        {166, "umount2"},
    {169, "reboot"},       {170, "sethostname"}, {175, "init_module"},  {176, "delete_module"},
    {250, "keyctl"},       {257, "openat"},      {263, "unlinkat"},     {264, "renameat"},
    {268, "fchmodat"},     {288, "accept4"},     {313, "finit_module"}, {316, "renameat2"},
    {319, "memfd_create"}, {321, "bpf"},         {322, "execveat"},
};
constexpr Syscall kAarch64[] = {
    {35, "unlinkat"},      {38, "renameat"},       {39, "umount2"},       {40, "mount"},
    {53, "fchmodat"},      {56, "openat"},         {63, "read"},          {64, "write"},
    {105, "init_module"},  {106, "delete_module"}, {116, "syslog"},       {117, "ptrace"},
    {129, "kill"},         {142, "reboot"},        {146, "setuid"},       {160, "uname"},
    {167, "prctl"},        {179, "sysinfo"},       {198, "socket"},       {200, "bind"},
    {201, "listen"},       {202, "accept"},        {203, "connect"},      {220, "clone"},
    {221, "execve"},       {226, "mprotect"},      {273, "finit_module"}, {276, "renameat2"},
    {279, "memfd_create"}, {280, "bpf"},           {281, "execveat"},
};

// Record types of the kernel's numeric form ("audit: type=1300 audit(...)").
std::string_view TypeName(std::string_view type) {
  static const std::pair<std::string_view, std::string_view> kTypes[] = {
      {"1300", "SYSCALL"},      {"1302", "PATH"},      {"1307", "CWD"},
      {"1309", "EXECVE"},       {"1320", "EOE"},       {"1327", "PROCTITLE"},
      {"1100", "USER_AUTH"},    {"1101", "USER_ACCT"}, {"1112", "USER_LOGIN"},
      {"1106", "USER_START"},   {"1104", "CRED_ACQ"},  {"1130", "SERVICE_START"},
      {"1131", "SERVICE_STOP"}, {"1114", "ADD_USER"},  {"1105", "USER_END"}};
  for (const auto& [number, name] : kTypes) {
    if (type == number) return name;
  }
  return type;
}

bool IsHex(std::string_view text) {
  if (text.size() < 2 || text.size() % 2 != 0) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

std::string FromHex(std::string_view hex) {
  std::string out;
  out.reserve(hex.size() / 2);
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    unsigned value = 0;
    std::from_chars(hex.data() + i, hex.data() + i + 2, value, 16);
    out.push_back(static_cast<char>(value));
  }
  return out;
}

// Fields auditd writes hex-encoded (unquoted) when they hold blanks or special characters.
bool Encodable(std::string_view type, std::string_view key) {
  if (type == "EXECVE" && key.size() >= 2 && key[0] == 'a' &&
      std::all_of(key.begin() + 1, key.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return true;
  }
  static constexpr std::string_view kKeys[] = {"proctitle", "name", "cwd",  "exe",  "comm",
                                               "path",      "cmd",  "data", "acct", "key"};
  return std::find(std::begin(kKeys), std::end(kKeys), key) != std::end(kKeys);
}

struct Pair {
  std::string_view key;
  std::string value;
};

// key=value pairs of a record body; values quoted with " are unquoted, msg='...' is read as
// pairs of its own; unquoted hex of encodable fields is decoded (NULs between proctitle's
// arguments become blanks).
void ReadPairs(std::string_view type, std::string_view body, std::vector<Pair>& out) {
  size_t at = 0;
  while (at < body.size()) {
    while (at < body.size() && (body[at] == ' ' || body[at] == '\x1d')) ++at;
    size_t equals = body.find('=', at);
    if (equals == std::string_view::npos) return;
    std::string_view key = body.substr(at, equals - at);
    if (key.find(' ') != std::string_view::npos) {  // not a pair: skip a word
      at = body.find(' ', at);
      if (at == std::string_view::npos) return;
      continue;
    }
    size_t start = equals + 1;
    if (start < body.size() && (body[start] == '"' || body[start] == '\'')) {
      char quote = body[start];
      size_t end = body.find(quote, start + 1);
      if (end == std::string_view::npos) end = body.size();
      std::string_view inner = body.substr(start + 1, end - start - 1);
      if (quote == '\'' && key == "msg") {
        ReadPairs(type, inner, out);
      } else {
        out.push_back(Pair{key, std::string(inner)});
      }
      at = end + 1;
      continue;
    }
    size_t end = start;
    while (end < body.size() && body[end] != ' ' && body[end] != '\x1d') ++end;
    std::string_view value = body.substr(start, end - start);
    if (Encodable(type, key) && IsHex(value)) {
      std::string decoded = FromHex(value);
      if (key == "proctitle") std::replace(decoded.begin(), decoded.end(), '\0', ' ');
      out.push_back(Pair{key, std::move(decoded)});
    } else {
      out.push_back(Pair{key, std::string(value)});
    }
    at = end;
  }
}

}  // namespace

std::string_view SyscallName(std::string_view arch, int number) {
  auto find = [number](const auto& table) -> std::string_view {
    for (const Syscall& s : table) {
      if (s.number == number) return s.name;
    }
    return {};
  };
  if (arch == "c000003e") return find(kX8664);
  if (arch == "c00000b7") return find(kAarch64);
  return {};
}

AuditJoiner::AuditJoiner() : processes_(kProcessSlots) {}

void AuditJoiner::Reset() {
  pending_ = Pending{};
  ++generation_;
}

bool AuditJoiner::Apply(event::Event& event) {
  std::string_view text = event.Get(fid::kMessage).value_or(event.raw());
  // "node=host type=SYSCALL msg=audit(...): ..." or "audit: type=1300 audit(...): ..."
  if (text.starts_with("audit: ")) text.remove_prefix(7);
  if (text.starts_with("node=")) {
    size_t space = text.find(' ');
    if (space == std::string_view::npos) return false;
    text.remove_prefix(space + 1);
  }
  if (!text.starts_with("type=")) return false;
  size_t type_end = text.find(' ', 5);
  if (type_end == std::string_view::npos) return false;
  std::string_view type = TypeName(text.substr(5, type_end - 5));
  size_t open = text.find("audit(", type_end);
  if (open == std::string_view::npos || open > type_end + 5) return false;
  size_t close = text.find(')', open);
  if (close == std::string_view::npos) return false;
  std::string serial(text.substr(open + 6, close - open - 6));
  std::string_view body = text.substr(close + 1);
  if (body.starts_with(":")) body.remove_prefix(1);

  // The record's time: seconds.millis before the colon.
  std::string_view stamp = std::string_view(serial).substr(0, serial.find(':'));
  size_t dot = stamp.find('.');
  int64_t seconds = 0, millis = 0;
  auto [end_s, error_s] = std::from_chars(stamp.data(), stamp.data() + dot, seconds);
  if (error_s == std::errc() && dot != std::string_view::npos) {
    std::from_chars(stamp.data() + dot + 1, stamp.data() + stamp.size(), millis);
    event.SetTimestamp(seconds * kNsPerSecond + millis * 1'000'000);
  }
  (void)end_s;

  std::vector<Pair> pairs;
  ReadPairs(type, body, pairs);
  std::string type_text(type);
  event.Set("type", type_text);
  event.Set("event.module", "auditd");
  std::string arch, syscall_number;
  bool named_syscall = false;
  for (const Pair& pair : pairs) {
    if (pair.key == "type") continue;
    event.Set(pair.key, pair.value);
    if (pair.key == "arch") arch = pair.value;
    if (pair.key == "syscall") syscall_number = pair.value;
    if (pair.key == "SYSCALL") named_syscall = true;
  }
  // User-space records (USER_AUTH, USER_LOGIN, ...) name the client and the account: ECS fields,
  // so that authentication rules see them too.
  for (const Pair& pair : pairs) {
    if (pair.key == "addr" && pair.value != "?") event.Set(fid::kSourceIp, pair.value);
    if (pair.key == "acct" && pair.value != "?") event.Set(fid::kUserName, pair.value);
    if (pair.key == "res") {
      event.Set(fid::kEventOutcome, pair.value == "success" ? "success" : "failure");
    }
  }
  if (!named_syscall && !syscall_number.empty()) {
    int number = 0;
    std::from_chars(syscall_number.data(), syscall_number.data() + syscall_number.size(), number);
    std::string_view name = SyscallName(arch, number);
    if (!name.empty()) event.Set("SYSCALL", name);
  }
  Join(event, type, serial);
  return true;
}

void AuditJoiner::Join(event::Event& event, std::string_view type, std::string_view serial) {
  if (pending_.serial != serial) {
    pending_ = Pending{};
    pending_.serial.assign(serial);
  }
  auto get = [&](std::string_view name) {
    return std::string(event.Get(event::InternField(name)).value_or(""));
  };
  if (type == "SYSCALL") {
    std::string syscall = get("SYSCALL");
    pending_.execve = syscall == "execve" || syscall == "execveat";
    pending_.exe = get("exe");
    pending_.comm = get("comm");
    pending_.pid = get("pid");
    pending_.ppid = get("ppid");
    pending_.uid = get("uid");
    pending_.user = get("UID");
    // Every system call names its process's program: the parent of a later execve (a forked web
    // server worker has no execve of its own).
    uint32_t pid = 0;
    std::from_chars(pending_.pid.data(), pending_.pid.data() + pending_.pid.size(), pid);
    if (pid != 0 && !pending_.exe.empty() && !pending_.execve) Remember(pid, pending_.exe);
    return;
  }
  if (type == "EXECVE") {
    std::map<int, std::string> args;
    for (size_t i = 0; i < event.size(); ++i) {
      std::string_view name = event.NameAt(i);
      if (name.size() < 2 || name[0] != 'a') continue;
      int index = 0;
      auto [end, error] = std::from_chars(name.data() + 1, name.data() + name.size(), index);
      if (error != std::errc() || end != name.data() + name.size()) continue;
      args[index] = std::string(event.ValueAt(i));
    }
    pending_.command_line.clear();
    for (const auto& [index, arg] : args) {
      if (!pending_.command_line.empty()) pending_.command_line.push_back(' ');
      pending_.command_line += arg;
    }
    return;
  }
  if (type == "CWD") {
    pending_.cwd = get("cwd");
    return;
  }
  if (type == "PROCTITLE") pending_.title = get("proctitle");
  if ((type != "PROCTITLE" && type != "EOE") || !pending_.execve || pending_.emitted) return;
  pending_.emitted = true;
  event.Set(fid::kEventCategory, "process");
  event.Set("event.type", "start");
  auto set = [&](std::string_view field, const std::string& value) {
    if (!value.empty()) event.Set(field, value);
  };
  set("process.executable", pending_.exe);
  set("process.name", pending_.comm);
  set("process.command_line", pending_.command_line);
  set("process.working_directory", pending_.cwd);
  set("process.pid", pending_.pid);
  set("process.parent.pid", pending_.ppid);
  set("process.title", pending_.title);
  set("user.id", pending_.uid);
  set("user.name", pending_.user);
  uint32_t pid = 0, ppid = 0;
  std::from_chars(pending_.pid.data(), pending_.pid.data() + pending_.pid.size(), pid);
  std::from_chars(pending_.ppid.data(), pending_.ppid.data() + pending_.ppid.size(), ppid);
  const Process& parent = processes_[ppid % kProcessSlots];
  if (ppid != 0 && parent.pid == ppid && parent.generation == generation_) {
    set("process.parent.executable", parent.exe);
  }
  if (pid != 0) Remember(pid, pending_.exe);
}

void AuditJoiner::Remember(uint32_t pid, const std::string& exe) {
  Process& slot = processes_[pid % kProcessSlots];
  slot.pid = pid;
  slot.generation = generation_;
  slot.exe = exe;
}

}  // namespace bulwark::decode
