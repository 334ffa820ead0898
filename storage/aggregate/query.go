package aggregate

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// firstBucketFrom returns the first bucket starting at or after t (Unix
// ns): a query for [start, end) covers the buckets that start in it.
func firstBucketFrom(t int64) int64 {
	b := t / bucketNanos // rounds towards zero: up for negative t
	if t%bucketNanos > 0 {
		b++
	}
	return b
}

// Link is the calls from one service to another.
type Link struct {
	Parent, Child string
	// CallCount is the number of calls; ErrorCount how many of them had
	// status Error.
	CallCount, ErrorCount uint64
}

// Links returns the service links counted in the buckets that start in
// [start, end) (Unix ns), sorted by parent then child. At the bucket
// resolution the answer is exact; a range that is not whole minutes is
// rounded to the minutes starting in it.
func (a *Aggregate) Links(start, end int64) []Link {
	a.Flush()
	lo, hi := firstBucketFrom(start), firstBucketFrom(end)
	out := make([]Link, 0, len(a.pairs))
	for k, pair := range a.pairs {
		l := Link{Parent: k.parent, Child: k.child}
		for _, c := range pair.between(lo, hi) {
			l.CallCount += c.calls
			l.ErrorCount += c.errors
		}
		if l.CallCount > 0 {
			out = append(out, l)
		}
	}
	slices.SortFunc(out, func(x, y Link) int {
		return cmp.Or(cmp.Compare(x.Parent, y.Parent), cmp.Compare(x.Child, y.Child))
	})
	return out
}

// SeriesQuery asks for RED series: one per service, or per service and
// operation (span name), each a point every Step.
type SeriesQuery struct {
	// Services keeps these services only; empty keeps every service.
	Services []string
	// Kinds keeps spans of these kinds only; empty keeps every kind.
	Kinds []ptrace.SpanKind
	// GroupByOperation makes a series per span name.
	GroupByOperation bool
	// End (Unix ns) and Lookback bound the points: the last point is at
	// the last bucket boundary at or before End, the others Step apart
	// going back, none earlier than End-Lookback.
	End      int64
	Lookback time.Duration
	// Step is the time between points and Window the span of time each
	// point summarises, the Window before it. Both are rounded up to whole
	// buckets.
	Step, Window time.Duration
	// Quantile, when in (0, 1], asks each point for that latency quantile.
	Quantile float64
}

// MaxPoints caps the points of one series (Prometheus's limit).
const MaxPoints = 11_000

// Series is the RED series of one service, or one operation of it.
type Series struct {
	Service   string
	Operation string // "" unless grouped by operation
	Points    []Point
}

// Point summarises the spans that started in the Window before Time.
type Point struct {
	Time   int64 // Unix ns, a bucket boundary
	Window time.Duration
	Calls  uint64
	Errors uint64
	// Latency is the asked quantile of the spans' durations, in ns; NaN
	// when no quantile was asked or the window has no span.
	Latency float64
}

// CallRate is the calls per second over the point's window.
func (p Point) CallRate() float64 { return float64(p.Calls) / p.Window.Seconds() }

// ErrorRate is the fraction of the window's calls that failed, NaN when
// there was no call.
func (p Point) ErrorRate() float64 {
	if p.Calls == 0 {
		return math.NaN()
	}
	return float64(p.Errors) / float64(p.Calls)
}

// roundUp rounds d up to whole buckets, in buckets.
func roundUp(d time.Duration) int64 {
	n := int64(d) / bucketNanos
	if int64(d)%bucketNanos != 0 {
		n++
	}
	return n
}

// Bounds returns the span of time, [start, end) in Unix ns, whose spans a
// SeriesQuery reads: the windows of its points. It is what the buckets of
// an Aggregate answering q must cover. It is empty (start == end) when no
// minute boundary is in [End-Lookback, End]: there is no point then.
func (q SeriesQuery) Bounds() (start, end int64, err error) {
	if q.Step <= 0 || q.Window <= 0 || q.Lookback < 0 {
		return 0, 0, fmt.Errorf("series query: step %s and window %s must be positive, lookback %s not negative", q.Step, q.Window, q.Lookback)
	}
	if q.Quantile < 0 || q.Quantile > 1 || math.IsNaN(q.Quantile) {
		return 0, 0, fmt.Errorf("series query: quantile %v is not in [0, 1]", q.Quantile)
	}
	last, step, win := bucketOf(q.End), roundUp(q.Step), roundUp(q.Window)
	first := firstBucketFrom(q.End - int64(q.Lookback))
	if first > last {
		return last * bucketNanos, last * bucketNanos, nil
	}
	if n := (last-first)/step + 1; n > MaxPoints {
		return 0, 0, fmt.Errorf("series query: %d points a series, at most %d", n, MaxPoints)
	}
	return (last - (last-first)/step*step - win) * bucketNanos, last * bucketNanos, nil
}

// groupKey names a series.
type groupKey struct{ service, operation string }

// bucketStats is one bucket of one series: the sum of its cells.
type bucketStats struct {
	bucket        int64
	calls, errors uint64
	hists         []histogram
}

// Series returns RED series, sorted by service then operation. A series is
// present when its spans have at least one call in the time it reads
// (Bounds). Windows overlap when Window exceeds Step, like Prometheus's
// rate(x[window]) evaluated every step.
func (a *Aggregate) Series(q SeriesQuery) ([]Series, error) {
	start, end, err := q.Bounds()
	if err != nil || start == end {
		return nil, err
	}
	a.Flush()
	lo, hi := start/bucketNanos, end/bucketNanos
	step, win := roundUp(q.Step), roundUp(q.Window)
	first := hi - (hi-firstBucketFrom(q.End-int64(q.Lookback)))/step*step

	groups := map[groupKey]map[int64]*bucketStats{}
	for k, op := range a.ops {
		if len(q.Services) > 0 && !slices.Contains(q.Services, k.service) {
			continue
		}
		if len(q.Kinds) > 0 && !slices.Contains(q.Kinds, k.kind) {
			continue
		}
		g := groupKey{service: k.service}
		if q.GroupByOperation {
			g.operation = k.name
		}
		for bucket, c := range op.between(lo, hi) {
			byBucket := groups[g]
			if byBucket == nil {
				byBucket = map[int64]*bucketStats{}
				groups[g] = byBucket
			}
			b := byBucket[bucket]
			if b == nil {
				b = &bucketStats{bucket: bucket}
				byBucket[bucket] = b
			}
			b.calls += c.calls
			b.errors += c.errors
			b.hists = append(b.hists, c.durations)
		}
	}

	out := make([]Series, 0, len(groups))
	for g, byBucket := range groups {
		buckets := make([]*bucketStats, 0, len(byBucket))
		for _, b := range byBucket {
			buckets = append(buckets, b)
		}
		slices.SortFunc(buckets, func(x, y *bucketStats) int { return cmp.Compare(x.bucket, y.bucket) })
		out = append(out, Series{Service: g.service, Operation: g.operation, Points: points(buckets, first, hi, step, win, q.Quantile)})
	}
	slices.SortFunc(out, func(x, y Series) int {
		return cmp.Or(cmp.Compare(x.Service, y.Service), cmp.Compare(x.Operation, y.Operation))
	})
	return out, nil
}

// points slides a window of win buckets over buckets (sorted, with data),
// ending at first, first+step, … up to last (bucket numbers).
func points(buckets []*bucketStats, first, last, step, win int64, quantile float64) []Point {
	var (
		pts           = make([]Point, 0, (last-first)/step+1)
		w             *window
		calls, errors uint64
		// Buckets [in, out) of the slice are in the window.
		in, out int
	)
	if quantile > 0 {
		w = newWindow()
	}
	for t := first; t <= last; t += step {
		from := t - win
		// Drop the buckets that left the window, then take in the new ones.
		for in < out && buckets[in].bucket < from {
			b := buckets[in]
			calls, errors = calls-b.calls, errors-b.errors
			if w != nil {
				for _, h := range b.hists {
					w.remove(h)
				}
			}
			in++
		}
		for in == out && out < len(buckets) && buckets[out].bucket < from {
			in, out = in+1, out+1 // skipped entirely by a step longer than the window
		}
		for out < len(buckets) && buckets[out].bucket < t {
			b := buckets[out]
			calls, errors = calls+b.calls, errors+b.errors
			if w != nil {
				for _, h := range b.hists {
					w.add(h)
				}
			}
			out++
		}
		p := Point{Time: t * bucketNanos, Window: time.Duration(win * bucketNanos), Calls: calls, Errors: errors, Latency: math.NaN()}
		if w != nil {
			p.Latency = w.quantile(quantile)
		}
		pts = append(pts, p)
	}
	return pts
}
