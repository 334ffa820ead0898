package loadgen

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestBuckets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	values := []uint64{0, 1, 127, 128, 129, 255, 256, 1<<40 + 12345, 1<<63 - 1}
	for range 10000 {
		values = append(values, rng.Uint64N(1<<uint(rng.IntN(63))+1))
	}
	for _, v := range values {
		i := bucketOf(v)
		if i < 0 || i >= histBuckets {
			t.Fatalf("bucketOf(%d) = %d, out of [0, %d)", v, i, histBuckets)
		}
		if top := bucketTop(i); top < v || (i > 0 && bucketTop(i-1) >= v) {
			t.Fatalf("value %d in bucket %d of top %d, previous top %d", v, i, top, bucketTop(i-1))
		}
		if top := bucketTop(i); v > 0 && float64(top-v)/float64(v) > 1.0/subBuckets {
			t.Fatalf("value %d in bucket of top %d: more than 1/%d off", v, top, subBuckets)
		}
	}
}

func TestQuantiles(t *testing.T) {
	tests := []struct {
		name             string
		values           []time.Duration
		p50, p99, maxVal time.Duration
	}{
		{name: "empty"},
		{name: "one", values: []time.Duration{3 * time.Millisecond}, p50: 3 * time.Millisecond, p99: 3 * time.Millisecond, maxVal: 3 * time.Millisecond},
		{name: "1..1000µs", values: ramp(1000, time.Microsecond), p50: 500 * time.Microsecond, p99: 990 * time.Microsecond, maxVal: 1000 * time.Microsecond},
		{name: "one slow", values: append(ramp(99, 0), time.Second), p50: 0, p99: 0, maxVal: time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a, b histogram
			for i, v := range tt.values { // split over two to test merge
				if i%2 == 0 {
					a.record(v)
				} else {
					b.record(v)
				}
			}
			a.merge(&b)
			near := func(what string, got, want time.Duration) {
				if got < want || float64(got-want) > float64(want)/subBuckets {
					t.Errorf("%s = %s, want %s (+1/%d)", what, got, want, subBuckets)
				}
			}
			near("p50", a.quantile(0.5), tt.p50)
			near("p99", a.quantile(0.99), tt.p99)
			if a.max != tt.maxVal {
				t.Errorf("max = %s, want %s", a.max, tt.maxVal)
			}
			if l := a.latency(); l.Count != uint64(len(tt.values)) || l.MaxMillis != millis(tt.maxVal) {
				t.Errorf("latency() = %+v", l)
			}
		})
	}
}

// ramp returns n durations step, 2·step, …, n·step (all 0 for step 0).
func ramp(n int, step time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * step
	}
	return out
}
