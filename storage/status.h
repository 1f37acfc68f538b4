// Storage's errors are the project's one Status (protocol/common/status.h). RocksDB's statuses
// are converted into it inside rocksdb_log.cc, so no third-party type crosses the module boundary.
#pragma once

#include "protocol/common/status.h"

namespace herald::storage {

using common::Result;
using common::Status;

}  // namespace herald::storage
