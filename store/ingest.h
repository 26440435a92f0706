// Ingestion: moves what traced processes appended to <store>/spool into the LMDB store,
// synthesising the hook events on the way. Every ClawTrace command calls it before it
// reads; `clawtrace run` calls it while the command runs. Safe to run concurrently from
// several processes: LMDB's writer lock serialises passes, and each spool's read offset
// commits in the same transaction as the events it produced, so nothing is ingested
// twice or lost.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "result.h"
#include "store.h"

namespace clawtrace {

struct IngestOptions {
  size_t max_bytes_per_spool = size_t{8} << 20;  // per pass, bounds memory
  bool progress = false;                         // a progress line on stderr
};

struct IngestStats {
  size_t spools = 0;           // spool files looked at
  size_t records = 0;          // records applied
  size_t events = 0;           // events written
  size_t finished = 0;         // sessions whose spool was completed and removed
  uint64_t skipped_bytes = 0;  // corrupt spool bytes passed over
  std::vector<std::string> warnings;
};

Result<IngestStats> ingest_pending(Store& store, const IngestOptions& options = {});

// Appends the wait status `clawtrace run` observed for its root process to that session's
// spool, so ingestion can tell how a process that never reported its exit died. Takes no
// lock: alone, it can race a concurrent pass that finishes the spool (the record is then
// lost); `clawtrace run` uses it only when it cannot get the store's writer lock.
Result<void> append_observed_exit(const std::filesystem::path& spool_dir, const std::string& session,
                                  int wait_status);
// The same, safe against a concurrent ingestion pass: appended while the spool is pending,
// applied to the stored session directly once its spool has been ingested to the end.
Result<void> record_observed_exit(Store& store, const std::string& session, int wait_status);

}  // namespace clawtrace
