#include "bulwark/receive/framing.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace bulwark::receive {

namespace {
constexpr size_t kMaxCountDigits = 9;  // counts beyond are no counts (and over any limit)

std::string_view WithoutSuffix(std::string_view text, char suffix) {
  if (!text.empty() && text.back() == suffix) text.remove_suffix(1);
  return text;
}
}  // namespace

SyslogFramer::SyslogFramer(MessageFn message, ProblemFn problem, Options options)
    : message_(std::move(message)), problem_(std::move(problem)), options_(options) {}

void SyslogFramer::Deliver(std::string_view message) {
  message_(message, frame_offset_);
}

void SyslogFramer::Problem(const char* kind, std::string reason) {
  if (problem_) problem_(FramingProblem{frame_offset_, kind, std::move(reason)});
}

void SyslogFramer::Feed(std::string_view bytes) {
  const uint64_t base = offset_;
  size_t i = 0;
  while (i < bytes.size()) {
    switch (state_) {
      case State::kStart: {
        char c = bytes[i];
        if (c == '\n' || c == '\r' || c == '\0') {  // nothing between two frames
          ++i;
          continue;
        }
        frame_offset_ = base + i;
        buffer_.clear();
        count_.clear();
        state_ = c >= '1' && c <= '9' ? State::kCount : State::kLine;
        continue;
      }
      case State::kCount: {
        char c = bytes[i];
        if (c >= '0' && c <= '9' && count_.size() < kMaxCountDigits) {
          count_.push_back(c);
          ++i;
          continue;
        }
        if (c == ' ') {
          size_t count = std::stoul(count_);
          if (count <= options_.max_message) {
            ++i;
            remaining_ = count;
            state_ = State::kOctets;
            if (count == 0) {
              Deliver({});
              state_ = State::kStart;
            }
            continue;
          }
          Problem("count_over_limit",
                  fmt::format("octet count {} is over the limit of {} bytes: read as a line", count,
                              options_.max_message));
        }
        // Not a count: the digits begin a non-transparent message.
        buffer_ = count_;
        state_ = State::kLine;
        continue;
      }
      case State::kOctets: {
        size_t take = std::min(remaining_, bytes.size() - i);
        std::string_view piece = bytes.substr(i, take);
        i += take;
        remaining_ -= take;
        if (remaining_ > 0) {
          buffer_.append(piece);
          continue;
        }
        if (buffer_.empty()) {
          Deliver(WithoutSuffix(piece, '\n'));
        } else {
          buffer_.append(piece);
          Deliver(WithoutSuffix(buffer_, '\n'));
        }
        state_ = State::kStart;
        continue;
      }
      case State::kLine:
      case State::kSkipLine: {
        const char* begin = bytes.data() + i;
        const void* newline = std::memchr(begin, '\n', bytes.size() - i);
        size_t length = newline ? static_cast<const char*>(newline) - begin : bytes.size() - i;
        std::string_view piece(begin, length);
        i += length + (newline ? 1 : 0);
        if (state_ == State::kSkipLine) {
          if (newline) state_ = State::kStart;
          continue;
        }
        if (buffer_.size() + piece.size() > options_.max_message) {
          buffer_.append(piece.substr(0, options_.max_message - buffer_.size()));
          Problem("message_cut", fmt::format("message over {} bytes: cut", options_.max_message));
          Deliver(WithoutSuffix(buffer_, '\r'));
          state_ = newline ? State::kStart : State::kSkipLine;
          continue;
        }
        if (!newline) {
          buffer_.append(piece);
          continue;
        }
        if (buffer_.empty()) {
          Deliver(WithoutSuffix(piece, '\r'));
        } else {
          buffer_.append(piece);
          Deliver(WithoutSuffix(buffer_, '\r'));
        }
        state_ = State::kStart;
        continue;
      }
    }
  }
  offset_ = base + bytes.size();
}

void SyslogFramer::Finish() {
  switch (state_) {
    case State::kCount:
      Deliver(count_);
      break;
    case State::kOctets:
      Problem(
          "stream_ended_short",
          fmt::format("the stream ended {} bytes short of the frame's octet count", remaining_));
      Deliver(WithoutSuffix(buffer_, '\n'));
      break;
    case State::kLine:
      Deliver(WithoutSuffix(buffer_, '\r'));
      break;
    case State::kStart:
    case State::kSkipLine:
      break;
  }
  state_ = State::kStart;
  buffer_.clear();
  count_.clear();
}

}  // namespace bulwark::receive
