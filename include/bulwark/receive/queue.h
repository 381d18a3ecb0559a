#pragma once
// A durable on-disk queue between receivers and detection: a message is on disk before its sender
// is told it arrived, and processing resumes after a crash from the last committed position, so
// that nothing acknowledged is lost and nothing is processed twice.
//
// Records go to segment files (`<first sequence number>.seg` in the queue's folder), each record
// `[u32 length][u32 CRC-32 of sequence number and payload][u64 sequence number][payload]`.
// Append() buffers, Sync() writes the buffer and fdatasync()s it (batched: one sync for many
// records); only synced records are read. Commit(n) records that everything up to n was processed
// (an atomically replaced file) and deletes the segments wholly before it. Open() scans the last
// segment and cuts a torn tail (a record half written when the process died), and reports a
// damaged record elsewhere, skipping the rest of its segment. The queue is bounded: Append()
// refuses a record that would make its files exceed `max_bytes` (the receiver then applies
// backpressure or counts a drop). Processed records count until their segment is deleted;
// segments are at most a quarter of `max_bytes`, so that three quarters are always there for
// unprocessed records. Not thread-safe: one writer and one reader thread
// need a lock around it.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/core/result.h"

namespace bulwark::receive {

class DurableQueue {
 public:
  struct Options {
    uint64_t segment_bytes = 64ull << 20;  // a new segment file after this size
    uint64_t max_bytes = 1ull << 30;       // the queue's files at most
  };
  struct Recovery {
    uint64_t records = 0;        // unprocessed records found at Open()
    uint64_t torn_bytes = 0;     // cut from the end of the last segment
    std::vector<Error> damaged;  // records that failed their check (file, byte offset)
  };

  // Opens (or creates) the queue in `dir`. Errors: the folder cannot be made or read.
  static Result<std::unique_ptr<DurableQueue>> Open(const std::string& dir, Options options);
  ~DurableQueue();

  enum class Bound { kKeep, kExceed };
  // Adds a record; returns its sequence number. Not durable before Sync(). Errors: "full" (the
  // record would exceed max_bytes; kExceed takes it anyway, for a message that must not be lost
  // and cannot wait), a record over 1 GiB, a write failure.
  Result<uint64_t> Append(std::string_view record, Bound bound = Bound::kKeep);
  // Writes and syncs every appended record; senders of those records may now be acknowledged.
  Result<void> Sync();
  // Gives up to `max` synced records after those given before (after the committed position at
  // first) to `record`; returns how many. Errors: a read failure.
  Result<size_t> Read(
      size_t max, const std::function<void(uint64_t sequence, std::string_view record)>& record);
  // Everything up to `sequence` was processed: recorded durably, and the segments wholly before it
  // deleted.
  Result<void> Commit(uint64_t sequence);

  uint64_t committed() const { return committed_; }
  uint64_t next_sequence() const { return next_; }
  // Bytes of the queue's segments on disk and in the buffer.
  uint64_t bytes() const;
  const Recovery& recovery() const { return recovery_; }

 private:
  struct Segment {
    uint64_t first = 0;  // sequence number of its first record
    std::string path;
    uint64_t size = 0;  // synced bytes
  };
  DurableQueue(std::string dir, Options options);
  Result<void> Recover();
  Result<void> StartSegment();

  std::string dir_;
  Options options_;
  std::vector<Segment> segments_;
  int fd_ = -1;              // the last segment, for appending
  std::string pending_;      // appended, not yet written
  uint64_t next_ = 1;        // sequence number of the next record
  uint64_t committed_ = 0;   // processed up to here
  uint64_t read_next_ = 1;   // next sequence number Read() gives
  size_t read_segment_ = 0;  // where Read() goes on
  uint64_t read_offset_ = 0;
  Recovery recovery_;
};

}  // namespace bulwark::receive
