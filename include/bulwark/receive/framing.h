#pragma once
// Syslog over a byte stream (TCP, TLS), RFC 6587: each frame is either octet-counted
// ("LEN SP MSG", LEN a decimal without leading zero) or non-transparent ("MSG LF"). As rsyslog
// does, the framing is told frame by frame from its first byte: a digit starts an octet count.
// rsyslog puts the message's trailing newline inside an octet-counted frame; it is dropped, as is
// a CR before the LF of a non-transparent frame.
//
// Bad input never stops the stream: a count over the message limit, or digits not followed by a
// space, make the frame non-transparent (the digits belong to the message); a message over the
// limit is cut to it and the rest of it skipped; each is reported as a Problem with the byte
// offset of its frame. Not thread-safe: one framer per connection.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace bulwark::receive {

struct FramingProblem {
  uint64_t offset = 0;  // of the frame in the stream
  // A stable name for counting: "count_over_limit", "message_cut" or "stream_ended_short".
  const char* kind = "";
  std::string reason;  // for people, with the figures
};

class SyslogFramer {
 public:
  struct Options {
    size_t max_message = 64 * 1024;  // longer messages are cut
  };
  // `message` gets each message (the view is valid during the call only), with its frame's
  // offset; `problem` each frame that was cut or read another way than it claimed.
  using MessageFn = std::function<void(std::string_view message, uint64_t offset)>;
  using ProblemFn = std::function<void(const FramingProblem& problem)>;

  SyslogFramer(MessageFn message, ProblemFn problem, Options options);
  SyslogFramer(MessageFn message, ProblemFn problem)
      : SyslogFramer(std::move(message), std::move(problem), Options{}) {}

  // Takes the next bytes of the stream; the messages they complete are given at once.
  void Feed(std::string_view bytes);
  // The stream ended: a non-transparent message without its LF is given (as rsyslog does); an
  // octet-counted frame that was cut short is a problem.
  void Finish();
  // Bytes taken so far.
  uint64_t offset() const { return offset_; }

 private:
  enum class State { kStart, kCount, kOctets, kLine, kSkipLine };
  void Deliver(std::string_view message);
  void Problem(const char* kind, std::string reason);

  MessageFn message_;
  ProblemFn problem_;
  Options options_;
  State state_ = State::kStart;
  uint64_t offset_ = 0;        // stream offset of the next byte
  uint64_t frame_offset_ = 0;  // of the current frame
  size_t remaining_ = 0;       // octets still to read of a counted frame
  std::string count_;          // digits of an octet count being read
  std::string buffer_;         // a message that spans fed pieces
};

}  // namespace bulwark::receive
