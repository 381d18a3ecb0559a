#include "bulwark/match/database.h"

#include <hs/hs.h>

namespace bulwark::match {

Database::~Database() {
  hs_free_database(database_);
}

tl::expected<std::shared_ptr<const Database>, CompileError> Database::Compile(
    const std::vector<Pattern>& patterns, bool literal) {
  if (patterns.empty()) return tl::unexpected(CompileError{-1, "no patterns"});
  std::vector<const char*> expressions;
  std::vector<size_t> lengths;
  std::vector<unsigned> flags;
  std::vector<unsigned> ids;
  for (const Pattern& pattern : patterns) {
    expressions.push_back(pattern.expression.c_str());
    lengths.push_back(pattern.expression.size());
    flags.push_back(pattern.flags);
    ids.push_back(pattern.id);
  }
  hs_database_t* database = nullptr;
  hs_compile_error_t* error = nullptr;
  hs_error_t status;
  auto count = static_cast<unsigned>(patterns.size());
  if (literal) {
    status = hs_compile_lit_multi(expressions.data(), flags.data(), ids.data(), lengths.data(),
                                  count, HS_MODE_BLOCK, nullptr, &database, &error);
  } else {
    status = hs_compile_multi(expressions.data(), flags.data(), ids.data(), count, HS_MODE_BLOCK,
                              nullptr, &database, &error);
  }
  if (status != HS_SUCCESS) {
    CompileError result{error ? error->expression : -1,
                        error && error->message ? error->message : "compile failed"};
    hs_free_compile_error(error);
    return tl::unexpected(std::move(result));
  }
  return std::shared_ptr<const Database>(new Database(database));
}

Scratch::~Scratch() {
  hs_free_scratch(scratch_);
}

Result<void> Scratch::Prepare(const Database& database) {
  if (hs_alloc_scratch(database.raw(), &scratch_) != HS_SUCCESS) {
    return Fail("cannot allocate vectorscan scratch space");
  }
  return {};
}

namespace {
struct Trampoline {
  MatchHandler handler;
  void* context;
};

int OnMatch(unsigned int id, unsigned long long, unsigned long long to, unsigned int,
            void* context) {
  auto* trampoline = static_cast<Trampoline*>(context);
  return trampoline->handler(id, to, trampoline->context) ? 0 : 1;
}
}  // namespace

void Scan(const Database& database, Scratch& scratch, std::string_view text, MatchHandler handler,
          void* context) {
  Trampoline trampoline{handler, context};
  hs_scan(database.raw(), text.data(), static_cast<unsigned>(text.size()), 0, scratch.raw(),
          OnMatch, &trampoline);
}

std::string EscapeRegex(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() * 2);
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
        c == ' ' || u >= 0x80) {
      out.push_back(c);
    } else {
      out += "\\x";
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

}  // namespace bulwark::match
