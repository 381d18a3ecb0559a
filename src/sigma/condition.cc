#include <fmt/format.h>

#include "bulwark/core/strings.h"
#include "bulwark/sigma/rule.h"

namespace bulwark::sigma {

namespace {

// Glob match with '*' (any run) and '?' (one character), as used in "1 of selection_*".
bool GlobMatch(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p, ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

struct Token {
  enum class Kind { kWord, kOpen, kClose, kEnd } kind;
  std::string text;
  size_t offset;
};

class ConditionParser {
 public:
  ConditionParser(std::string_view text, const std::map<std::string, SearchIdentifier>& detection)
      : detection_(detection) {
    size_t i = 0;
    while (i < text.size()) {
      char c = text[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i;
      } else if (c == '(' || c == ')') {
        tokens_.push_back(
            {c == '(' ? Token::Kind::kOpen : Token::Kind::kClose, std::string(1, c), i});
        ++i;
      } else {
        size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '(' &&
               text[i] != ')' && text[i] != '\n' && text[i] != '\r') {
          ++i;
        }
        tokens_.push_back({Token::Kind::kWord, std::string(text.substr(start, i - start)), start});
      }
    }
    tokens_.push_back({Token::Kind::kEnd, "", text.size()});
  }

  Result<std::unique_ptr<ConditionNode>> Parse() {
    auto node = Or();
    if (!node) return node;
    if (Peek().kind != Token::Kind::kEnd) return Unexpected();
    return node;
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  bool PeekWord(std::string_view word) const {
    return Peek().kind == Token::Kind::kWord && AsciiIEquals(Peek().text, word);
  }
  tl::unexpected<Error> Unexpected() const {
    const Token& token = Peek();
    return Fail(token.kind == Token::Kind::kEnd
                    ? "condition ends unexpectedly"
                    : fmt::format("unexpected '{}' at offset {} of the condition", token.text,
                                  token.offset));
  }

  static std::unique_ptr<ConditionNode> Combine(ConditionNode::Kind kind,
                                                std::unique_ptr<ConditionNode> left,
                                                std::unique_ptr<ConditionNode> right) {
    auto node = std::make_unique<ConditionNode>();
    node->kind = kind;
    node->children.push_back(std::move(left));
    node->children.push_back(std::move(right));
    return node;
  }

  Result<std::unique_ptr<ConditionNode>> Or() {
    auto left = And();
    if (!left) return left;
    while (PeekWord("or")) {
      ++pos_;
      auto right = And();
      if (!right) return right;
      left = Combine(ConditionNode::Kind::kOr, std::move(*left), std::move(*right));
    }
    return left;
  }

  Result<std::unique_ptr<ConditionNode>> And() {
    auto left = Not();
    if (!left) return left;
    while (PeekWord("and")) {
      ++pos_;
      auto right = Not();
      if (!right) return right;
      left = Combine(ConditionNode::Kind::kAnd, std::move(*left), std::move(*right));
    }
    return left;
  }

  Result<std::unique_ptr<ConditionNode>> Not() {
    if (PeekWord("not")) {
      ++pos_;
      auto inner = Not();
      if (!inner) return inner;
      auto node = std::make_unique<ConditionNode>();
      node->kind = ConditionNode::Kind::kNot;
      node->children.push_back(std::move(*inner));
      return node;
    }
    return Primary();
  }

  Result<std::unique_ptr<ConditionNode>> Primary() {
    const Token& token = Peek();
    if (token.kind == Token::Kind::kOpen) {
      ++pos_;
      auto inner = Or();
      if (!inner) return inner;
      if (Peek().kind != Token::Kind::kClose) return Unexpected();
      ++pos_;
      return inner;
    }
    if (token.kind != Token::Kind::kWord) return Unexpected();
    if (PeekWord("and") || PeekWord("or") || PeekWord("of")) return Unexpected();
    bool quantifier =
        token.text == "1" || AsciiIEquals(token.text, "all") || AsciiIEquals(token.text, "any");
    if (quantifier && tokens_[pos_ + 1].kind == Token::Kind::kWord &&
        AsciiIEquals(tokens_[pos_ + 1].text, "of")) {
      bool all = AsciiIEquals(token.text, "all");
      pos_ += 2;
      if (Peek().kind != Token::Kind::kWord) return Unexpected();
      std::string pattern = Peek().text;
      size_t offset = Peek().offset;
      ++pos_;
      auto node = std::make_unique<ConditionNode>();
      node->kind = all ? ConditionNode::Kind::kAllOf : ConditionNode::Kind::kOneOf;
      node->name = pattern;
      bool them = AsciiIEquals(pattern, "them");
      for (const auto& [name, search] : detection_) {
        if (them ? !name.starts_with('_') : GlobMatch(pattern, name)) {
          auto leaf = std::make_unique<ConditionNode>();
          leaf->name = name;
          node->children.push_back(std::move(leaf));
        }
      }
      if (node->children.empty()) {
        return Fail(fmt::format("'{}' at offset {} matches no search identifier", pattern, offset));
      }
      return node;
    }
    if (detection_.find(token.text) == detection_.end()) {
      return Fail(
          fmt::format("condition names '{}', which the detection does not define", token.text));
    }
    auto leaf = std::make_unique<ConditionNode>();
    leaf->name = token.text;
    ++pos_;
    return leaf;
  }

  const std::map<std::string, SearchIdentifier>& detection_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

}  // namespace

Result<std::unique_ptr<ConditionNode>> ParseCondition(
    std::string_view text, const std::map<std::string, SearchIdentifier>& detection) {
  return ConditionParser(text, detection).Parse();
}

}  // namespace bulwark::sigma
