#include "message_scan.h"

#include <algorithm>
#include <new>

namespace bulwark::pipeline {

std::shared_ptr<const MessageScan> MessageScan::Build(const detect::RuleSet& rules,
                                                      const decode::DecoderSet& decoders) {
  const std::vector<match::Pattern>& decoder_literals = decoders.MessagePrefilter();
  std::vector<match::Pattern> rule_literals = rules.ScanLiterals(event::fid::kMessage);
  if (decoder_literals.empty() || rule_literals.empty()) return nullptr;
  std::shared_ptr<MessageScan> scan(new MessageScan());
  for (const match::Pattern& p : decoder_literals)
    scan->rule_base_ = std::max(scan->rule_base_, p.id + 1);
  std::vector<match::Pattern> patterns = decoder_literals;
  patterns.reserve(decoder_literals.size() + rule_literals.size());
  for (match::Pattern& p : rule_literals) {
    p.id += scan->rule_base_;
    patterns.push_back(std::move(p));
  }
  auto database = match::Database::Compile(patterns, /*literal=*/true);
  if (!database) return nullptr;
  scan->database_ = *database;
  return scan;
}

MessageScan::Scanner::Scanner(const MessageScan& scan) : scan_(scan) {
  if (!scratch_.Prepare(*scan_.database_)) throw std::bad_alloc();
  prescan_.field = event::fid::kMessage;
}

bool MessageScan::Scanner::OnHit(unsigned id, unsigned long long to, void* context) {
  auto* self = static_cast<Scanner*>(context);
  if (id < self->scan_.rule_base_) {
    self->candidates_->push_back(id);
  } else {
    self->prescan_.hits.emplace_back(id - self->scan_.rule_base_, to);
  }
  return true;
}

void MessageScan::Scanner::Scan(std::string_view message, std::vector<uint32_t>& candidates) {
  text_.assign(message);
  prescan_.text = text_;
  prescan_.hits.clear();
  candidates_ = &candidates;
  match::Scan(*scan_.database_, scratch_, text_, OnHit, this);
  candidates_ = nullptr;
  scanned_ = true;
}

}  // namespace bulwark::pipeline
