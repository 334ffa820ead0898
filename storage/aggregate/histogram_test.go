package aggregate

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestBins(t *testing.T) {
	// Every value is in [low, low+width) of its bin, bins increase with
	// the value, and a bin's value is within 1/128 of every value in it.
	rng := rand.New(rand.NewPCG(3, 4))
	values := []int64{0, 1, 63, 64, 65, 127, 128, 129, 1000, 1 << 40, math.MaxInt64, math.MaxInt64 - 1}
	for range 10000 {
		values = append(values, rng.Int64N(1<<uint(rng.IntN(62)+1)))
	}
	slices.Sort(values)
	prev := uint16(0)
	for _, v := range values {
		b := binOf(v)
		if int(b) >= numBins {
			t.Fatalf("binOf(%d) = %d, beyond %d bins", v, b, numBins)
		}
		if b < prev {
			t.Fatalf("binOf(%d) = %d, below the bin of a smaller value (%d)", v, b, prev)
		}
		prev = b
		low, width := binBounds(b)
		if f := float64(v); f < low || f > low+width || (f == low+width && v < 1<<53) {
			t.Errorf("%d not in bin %d [%v, %v)", v, b, low, low+width)
		}
		if v > 0 {
			if e := math.Abs(binValue(b)-float64(v)) / float64(v); e > 1.0/128 {
				t.Errorf("bin %d stands for %v, %.4f off %d", b, binValue(b), e, v)
			}
		}
	}
	if binOf(-7) != 0 {
		t.Error("negative durations not in bin 0")
	}
	if got := binOf(math.MaxInt64); got != numBins-1 {
		t.Errorf("largest duration in bin %d, want the last, %d", got, numBins-1)
	}
}

func TestQuantileAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{1, 2, 7, 1000, 100_000} {
		values := make([]int64, n)
		var h histogram
		for i := range values {
			// Log-normal latencies from ~50 µs to ~10 s.
			values[i] = int64(2e6 * math.Exp(1.5*rng.NormFloat64()))
			h.add(binOf(values[i]))
		}
		slices.Sort(values)
		w := newWindow()
		w.add(h)
		for _, q := range []float64{0.01, 0.5, 0.75, 0.95, 0.99, 1} {
			rank := max(int(math.Ceil(q*float64(n))), 1)
			exact := float64(values[rank-1])
			got := w.quantile(q)
			if e := math.Abs(got-exact) / exact; e > 0.01 {
				t.Errorf("n=%d p%v = %v, exact %v: %.2f%% off", n, q*100, got, exact, 100*e)
			}
		}
	}
	if !math.IsNaN(newWindow().quantile(0.5)) {
		t.Error("quantile of nothing is not NaN")
	}
}

func TestHistogramMergeAndWindow(t *testing.T) {
	var a, b histogram
	for _, v := range []int64{5, 5, 100, 1e6} {
		a.add(binOf(v))
	}
	for _, v := range []int64{5, 1e9, 100} {
		b.add(binOf(v))
	}
	m := a.merged(b)
	if m.total() != 7 || len(m) != 4 {
		t.Errorf("merged %v: %d values in %d bins, want 7 in 4", m, m.total(), len(m))
	}
	if !slices.IsSorted(m) {
		t.Error("merged bins not sorted")
	}
	w := newWindow()
	w.add(a)
	w.add(b)
	w.remove(a)
	if got := w.quantile(1); got != binValue(binOf(1e9)) {
		t.Errorf("max after removing a = %v", got)
	}
	if got := w.quantile(0.01); got != 5 {
		t.Errorf("min after removing a = %v", got)
	}
	w.remove(b)
	if !math.IsNaN(w.quantile(0.5)) || w.total != 0 {
		t.Error("window not empty")
	}
}
