#include "bulwark/input/line_reader.h"

#include <fmt/format.h>
#include <zlib.h>

#include <cerrno>
#include <cstring>

namespace bulwark::input {

namespace {
constexpr size_t kChunk = 256 * 1024;
constexpr size_t kCompressedChunk = 128 * 1024;
}  // namespace

struct LineReader::Inflater {
  z_stream stream{};
  std::string input;  // compressed bytes read from the source
  bool source_done = false;
  bool in_member = false;  // a gzip member begun and not yet ended
  bool after_member = false;
  Inflater() { inflateInit2(&stream, 15 + 16); }  // gzip format
  ~Inflater() { inflateEnd(&stream); }
};

Result<std::unique_ptr<LineReader>> LineReader::Open(const std::string& path, const Env& env) {
  auto source = env.OpenSequential(path);
  if (!source) return tl::unexpected(source.error());
  return FromChunks(std::move(*source));
}

std::unique_ptr<LineReader> LineReader::FromChunks(ChunkSource source) {
  std::unique_ptr<LineReader> reader(new LineReader());
  reader->source_ = std::move(source);
  return reader;
}

std::unique_ptr<LineReader> LineReader::FromString(std::string data) {
  std::unique_ptr<LineReader> reader(new LineReader());
  auto held = std::make_shared<const std::string>(std::move(data));
  reader->chunk_ = std::shared_ptr<const char[]>(held, held->data());  // shares ownership
  reader->end_ = held->size();
  reader->bytes_read_ = held->size();
  reader->eof_ = true;
  return reader;
}

LineReader::~LineReader() = default;

Result<size_t> LineReader::ReadInput(char* out, size_t capacity) {
  if (!detected_) {
    detected_ = true;
    // The first bytes tell gzip (1f 8b) from plain text.
    head_.resize(kCompressedChunk);
    size_t filled = 0;
    while (filled < 2) {
      auto got = source_(head_.data() + filled, head_.size() - filled);
      if (!got) return tl::unexpected(got.error());
      if (*got == 0) break;
      filled += *got;
    }
    head_.resize(filled);
    if (filled >= 2 && static_cast<unsigned char>(head_[0]) == 0x1f &&
        static_cast<unsigned char>(head_[1]) == 0x8b) {
      inflater_ = std::make_unique<Inflater>();
      inflater_->input = std::move(head_);
      inflater_->stream.next_in = reinterpret_cast<Bytef*>(inflater_->input.data());
      inflater_->stream.avail_in = static_cast<uInt>(inflater_->input.size());
      head_.clear();
    }
  }
  if (!inflater_) {
    if (head_pos_ < head_.size()) {
      size_t n = std::min(capacity, head_.size() - head_pos_);
      std::memcpy(out, head_.data() + head_pos_, n);
      head_pos_ += n;
      return n;
    }
    return source_(out, capacity);
  }
  Inflater& z = *inflater_;
  z.stream.next_out = reinterpret_cast<Bytef*>(out);
  z.stream.avail_out = static_cast<uInt>(capacity);
  while (z.stream.avail_out == capacity) {
    if (z.stream.avail_in == 0) {
      if (z.source_done) {
        if (z.in_member) return Fail("unexpected end of input");
        return size_t{0};
      }
      z.input.resize(kCompressedChunk);
      auto got = source_(z.input.data(), z.input.size());
      if (!got) return tl::unexpected(got.error());
      z.input.resize(*got);
      z.stream.next_in = reinterpret_cast<Bytef*>(z.input.data());
      z.stream.avail_in = static_cast<uInt>(*got);
      if (*got == 0) z.source_done = true;
      continue;
    }
    if (z.after_member) {
      // Another member follows, or the rest is not gzip (ignored, as gzip(1) does).
      if (z.stream.next_in[0] != 0x1f) {
        z.stream.avail_in = 0;
        z.source_done = true;
        continue;
      }
      z.after_member = false;
    }
    int code = inflate(&z.stream, Z_NO_FLUSH);
    if (code == Z_STREAM_END) {
      z.in_member = false;
      z.after_member = true;
      inflateReset(&z.stream);
    } else if (code == Z_OK || code == Z_BUF_ERROR) {
      z.in_member = true;
    } else {
      return Fail(z.stream.msg ? z.stream.msg : "invalid compressed data");
    }
  }
  return capacity - z.stream.avail_out;
}

bool LineReader::Fill() {
  if (eof_) return false;
  size_t rest = end_ - begin_;
  // Uninitialised memory: the read fills it. Lines already handed out keep the old chunk.
  std::shared_ptr<char[]> chunk = std::make_shared_for_overwrite<char[]>(rest + kChunk);
  if (rest > 0) std::memcpy(chunk.get(), chunk_.get() + begin_, rest);
  auto got = ReadInput(chunk.get() + rest, kChunk);
  chunk_ = std::move(chunk);
  begin_ = 0;
  end_ = rest;
  if (!got || *got == 0) {
    eof_ = true;
    if (!got) error_ = fmt::format("byte {}: {}", bytes_read_, got.error().message);
    return false;
  }
  size_t n = *got;
  bytes_read_ += static_cast<uint64_t>(n);
  end_ += static_cast<size_t>(n);
  return true;
}

bool LineReader::Next(Line& line) {
  while (true) {
    const char* data = chunk_.get();
    const char* found =
        end_ > begin_ ? static_cast<const char*>(std::memchr(data + begin_, '\n', end_ - begin_))
                      : nullptr;
    size_t available = end_ - begin_;
    if (found == nullptr && available <= kMaxLineBytes && !eof_) {
      Fill();  // at the end of input too: the unread rest moves into the new chunk
      continue;
    }
    if (found == nullptr && available == 0) return false;
    size_t newline = found ? static_cast<size_t>(found - data) : end_;
    bool too_long = newline - begin_ > kMaxLineBytes;
    if (skipping_) {
      // Drop the rest of an over-long line that was already reported.
      if (found == nullptr) {
        begin_ = end_;
        if (!Fill()) return false;
        continue;
      }
      skipping_ = false;
      begin_ = newline + 1;
      continue;
    }
    size_t length = too_long ? kMaxLineBytes : newline - begin_;
    line.text = std::string_view(data + begin_, length);
    if (!line.text.empty() && line.text.back() == '\r') line.text.remove_suffix(1);
    line.number = ++line_number_;
    line.too_long = too_long;
    if (too_long && found == nullptr) {
      skipping_ = true;
      begin_ += length;
    } else {
      begin_ = found ? newline + 1 : end_;
    }
    return true;
  }
}

}  // namespace bulwark::input
