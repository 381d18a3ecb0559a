#include "bulwark/vuln/versions.h"

#include <cctype>
#include <string>

namespace bulwark::vuln {

namespace {

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}
bool IsLetter(char c) {
  return std::isalpha(static_cast<unsigned char>(c)) != 0;
}

// dpkg's weight of a character in the non-digit part: '~' lowest, then the end, letters, others.
int Order(int c) {
  if (IsDigit(static_cast<char>(c))) return 0;
  if (IsLetter(static_cast<char>(c))) return c;
  if (c == '~') return -1;
  if (c) return c + 256;
  return 0;
}

// dpkg's verrevcmp: alternating non-digit and digit parts.
int CompareFragment(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    int first_diff = 0;
    while ((i < a.size() && !IsDigit(a[i])) || (j < b.size() && !IsDigit(b[j]))) {
      int ac = i < a.size() ? Order(static_cast<unsigned char>(a[i])) : 0;
      int bc = j < b.size() ? Order(static_cast<unsigned char>(b[j])) : 0;
      if (ac != bc) return ac - bc;
      ++i;
      ++j;
    }
    while (i < a.size() && a[i] == '0') ++i;
    while (j < b.size() && b[j] == '0') ++j;
    while (i < a.size() && IsDigit(a[i]) && j < b.size() && IsDigit(b[j])) {
      if (!first_diff) first_diff = a[i] - b[j];
      ++i;
      ++j;
    }
    if (i < a.size() && IsDigit(a[i])) return 1;
    if (j < b.size() && IsDigit(b[j])) return -1;
    if (first_diff) return first_diff;
  }
  return 0;
}

struct Debian {
  long long epoch = 0;
  std::string_view upstream, revision;
};

Debian Split(std::string_view v) {
  Debian out;
  if (size_t colon = v.find(':'); colon != std::string_view::npos) {
    long long epoch = 0;
    for (char c : v.substr(0, colon)) {
      if (IsDigit(c)) epoch = std::min<long long>(epoch * 10 + (c - '0'), 1LL << 40);
    }
    out.epoch = epoch;
    v = v.substr(colon + 1);
  }
  if (size_t dash = v.rfind('-'); dash != std::string_view::npos) {
    out.revision = v.substr(dash + 1);
    v = v.substr(0, dash);
  }
  out.upstream = v;
  return out;
}

bool Separator(char c) {
  return c == '.' || c == '-' || c == '_' || c == '+';
}

}  // namespace

int CompareDebianVersions(std::string_view a, std::string_view b) {
  Debian x = Split(a), y = Split(b);
  if (x.epoch != y.epoch) return x.epoch < y.epoch ? -1 : 1;
  if (int c = CompareFragment(x.upstream, y.upstream)) return c < 0 ? -1 : 1;
  int c = CompareFragment(x.revision, y.revision);
  return c < 0 ? -1 : c > 0 ? 1 : 0;
}

int CompareVersions(std::string_view a, std::string_view b) {
  size_t i = 0, j = 0;
  // What the rest of a version that outlasts the other says: nothing when it is only zeros
  // ("2.4.0" = "2.4"), less when it starts with a pre-release tag ("1.0-rc1" < "1.0"), more
  // otherwise ("9.2p1" > "9.2").
  auto rest_sign = [](std::string_view rest) {
    size_t k = 0;
    while (k < rest.size() && (Separator(rest[k]) || rest[k] == '0')) ++k;
    if (k == rest.size()) return 0;
    std::string word;
    for (size_t m = k; m < rest.size() && IsLetter(rest[m]); ++m) {
      word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(rest[m]))));
    }
    for (const char* tag : {"alpha", "beta", "rc", "pre", "dev"}) {
      if (word == tag) return -1;
    }
    return 1;
  };
  while (true) {
    while (i < a.size() && Separator(a[i])) ++i;
    while (j < b.size() && Separator(b[j])) ++j;
    if (i >= a.size() || j >= b.size()) {
      if (i >= a.size() && j >= b.size()) return 0;
      return i >= a.size() ? -rest_sign(b.substr(j)) : rest_sign(a.substr(i));
    }
    bool a_digit = IsDigit(a[i]), b_digit = IsDigit(b[j]);
    if (a_digit != b_digit) return a_digit ? 1 : -1;
    size_t i_end = i, j_end = j;
    auto same_kind = [&](char c) { return a_digit ? IsDigit(c) : !IsDigit(c) && !Separator(c); };
    while (i_end < a.size() && same_kind(a[i_end])) ++i_end;
    while (j_end < b.size() && same_kind(b[j_end])) ++j_end;
    std::string_view x = a.substr(i, i_end - i), y = b.substr(j, j_end - j);
    if (a_digit) {
      while (x.size() > 1 && x.front() == '0') x.remove_prefix(1);
      while (y.size() > 1 && y.front() == '0') y.remove_prefix(1);
      if (x.size() != y.size()) return x.size() < y.size() ? -1 : 1;
    }
    if (int c = x.compare(y)) return c < 0 ? -1 : 1;
    i = i_end;
    j = j_end;
  }
}

}  // namespace bulwark::vuln
