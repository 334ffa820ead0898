package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// A histogram counts durations in log-linear buckets, HDR style: exact
// below 128ns, then 64 buckets per power of two, so any quantile is within
// 1/64 (1.6%) of the truth, in a fixed 30 KiB per worker, with no
// allocation per record.
type histogram struct {
	counts [histBuckets]uint64
	n      uint64
	max    time.Duration
}

const (
	subBits     = 6
	subBuckets  = 1 << subBits                // per power of two
	histBuckets = (64 - subBits) * subBuckets // enough for any non-negative int64
)

func bucketOf(v uint64) int {
	if v < 2*subBuckets {
		return int(v)
	}
	e := bits.Len64(v) - subBits - 1
	return e*subBuckets + int(v>>e)
}

// bucketTop is the largest value counted in bucket i.
func bucketTop(i int) uint64 {
	if i < 2*subBuckets {
		return uint64(i)
	}
	e := i/subBuckets - 1
	m := uint64(i%subBuckets + subBuckets)
	return (m+1)<<e - 1
}

func (h *histogram) record(d time.Duration) {
	d = max(d, 0)
	h.counts[bucketOf(uint64(d))]++
	h.n++
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile returns the smallest bucket top that at least q of the
// durations are at or below, capped at the largest duration recorded.
func (h *histogram) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			return min(time.Duration(bucketTop(i)), h.max)
		}
	}
	return h.max
}

// Latency summarises durations, in milliseconds.
type Latency struct {
	Count     uint64  `json:"count"`
	P50Millis float64 `json:"p50_ms"`
	P90Millis float64 `json:"p90_ms"`
	P99Millis float64 `json:"p99_ms"`
	MaxMillis float64 `json:"max_ms"`
}

func (h *histogram) latency() Latency {
	return Latency{
		Count:     h.n,
		P50Millis: millis(h.quantile(0.50)),
		P90Millis: millis(h.quantile(0.90)),
		P99Millis: millis(h.quantile(0.99)),
		MaxMillis: millis(h.max),
	}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
