// One log line per refusal (a limit or an access check said no), at most a few a second per
// reason, so that an attack cannot flood the log: the next line written for a reason says how
// many were held back. Any thread.
#pragma once

#include "broker/core/metrics.h"

namespace herald::broker::net {

void log_refusal(core::Refusal refusal);

}  // namespace herald::broker::net
