// Bucket arithmetic for LatencyHistogram: bucket = exponent * kHalf + top kSubBucketBits bits.
#include "clients/cpp/bench/latency_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace herald::bench {

size_t LatencyHistogram::bucket_of(uint64_t value) {
  if (value < 2 * kHalf) return static_cast<size_t>(value);
  value = std::min(value, (uint64_t{1} << kMaxValueBits) - 1);
  const int exponent = std::bit_width(value) - kSubBucketBits;  // >= 1
  const uint64_t mantissa = value >> exponent;                  // in [kHalf, 2 * kHalf)
  return static_cast<size_t>(exponent) * kHalf + mantissa;
}

uint64_t LatencyHistogram::bucket_low(size_t bucket) {
  if (bucket < 2 * kHalf) return bucket;
  const uint64_t exponent = bucket / kHalf - 1;
  const uint64_t mantissa = bucket % kHalf + kHalf;
  return mantissa << exponent;
}

void LatencyHistogram::record(uint64_t value_ns) {
  ++counts_[bucket_of(value_ns)];
  ++count_;
  max_ns_ = std::max(max_ns_, value_ns);
  sum_ns_ += static_cast<long double>(value_ns);
}

double LatencyHistogram::mean_ns() const {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_ns_ / static_cast<long double>(count_));
}

uint64_t LatencyHistogram::percentile_ns(double fraction) const {
  if (count_ == 0) return 0;
  // The rank of the sample at `fraction`, 1-based, as HdrHistogram counts it.
  const auto rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(fraction * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t bucket = 0; bucket < kBuckets; ++bucket) {
    seen += counts_[bucket];
    if (seen >= rank) {
      const uint64_t low = bucket_low(bucket);
      const uint64_t high = bucket + 1 < kBuckets ? bucket_low(bucket + 1) : low + 1;
      return std::min(max_ns_, low + (high - low) / 2);
    }
  }
  return max_ns_;
}

}  // namespace herald::bench
