package aggregate

import (
	"math"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
)

// redFixture: api's GET /a and GET /b server spans, api client spans and
// a db server span, over minutes 0 to 3 after t0.
func redFixture() *Aggregate {
	a := New()
	id := uint64(0)
	add := func(service, name string, kind ptrace.SpanKind, minute, n, errs int, d time.Duration) {
		for i := range n {
			id++
			s := span(id, 0, service, kind)
			s.Name = name
			s.Start = t0 + int64(minute)*int64(time.Minute) + int64(i)*int64(time.Millisecond)
			s.Duration = int64(d)
			if i < errs {
				s.StatusCode = ptrace.StatusCodeError
			}
			a.AddTrace([]spanfile.SpanInfo{s})
		}
	}
	add("api", "GET /a", server, 0, 10, 2, 10*time.Millisecond)
	add("api", "GET /a", server, 1, 20, 0, 20*time.Millisecond)
	add("api", "GET /a", server, 3, 5, 5, 100*time.Millisecond)
	add("api", "GET /b", server, 1, 10, 0, 30*time.Millisecond)
	add("api", "SELECT", client, 0, 7, 0, time.Millisecond)
	add("db", "query", server, 1, 3, 0, time.Millisecond)
	return a
}

type wantPoint struct {
	minute        int64 // of the point, after t0
	calls, errors uint64
	p50ms         float64 // NaN: none
}

func checkSeries(t *testing.T, got Series, service, op string, window time.Duration, want []wantPoint) {
	t.Helper()
	if got.Service != service || got.Operation != op {
		t.Errorf("series %q/%q, want %q/%q", got.Service, got.Operation, service, op)
	}
	if len(got.Points) != len(want) {
		t.Fatalf("%s/%s: %d points, want %d: %+v", service, op, len(got.Points), len(want), got.Points)
	}
	for i, w := range want {
		p := got.Points[i]
		wantTime := t0 + w.minute*int64(time.Minute)
		if p.Time != wantTime || p.Calls != w.calls || p.Errors != w.errors || p.Window != window {
			t.Errorf("%s/%s point %d: time t0%+ds, %d calls, %d errors over %s; want t0%+ds, %d, %d over %s",
				service, op, i, (p.Time-t0)/1e9, p.Calls, p.Errors, p.Window, (wantTime-t0)/1e9, w.calls, w.errors, window)
		}
		if ms := p.Latency / 1e6; !(math.IsNaN(w.p50ms) && math.IsNaN(ms)) && math.Abs(ms-w.p50ms) > w.p50ms/128 {
			t.Errorf("%s/%s point %d: p50 %v ms, want %v", service, op, i, ms, w.p50ms)
		}
	}
}

func TestSeries(t *testing.T) {
	a := redFixture()
	nan := math.NaN()
	minute := time.Minute

	// Four points a minute apart, each over the two minutes before it.
	q := SeriesQuery{
		Services: []string{"api"},
		Kinds:    []ptrace.SpanKind{server},
		End:      t0 + int64(4*minute+30*time.Second),
		Lookback: 4 * minute,
		Step:     minute,
		Window:   2 * minute,
		Quantile: 0.5,
	}
	got, err := a.Series(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 {
		t.Fatalf("%d series, want api only: %+v", len(got), got)
	}
	checkSeries(t, got[0], "api", "", 2*minute, []wantPoint{
		{1, 10, 2, 10},
		{2, 40, 2, 20},
		{3, 30, 0, 20},
		{4, 5, 5, 100},
	})
	p := got[0].Points[0]
	if r := p.CallRate(); math.Abs(r-10.0/120) > 1e-12 {
		t.Errorf("call rate %v, want 10 calls / 120 s", r)
	}
	if r := p.ErrorRate(); r != 0.2 {
		t.Errorf("error rate %v, want 0.2", r)
	}

	// By operation; every kind; no quantile.
	q.GroupByOperation, q.Kinds, q.Quantile = true, nil, 0
	got, err = a.Series(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 {
		t.Fatalf("%d series, want GET /a, GET /b, SELECT", len(got))
	}
	checkSeries(t, got[0], "api", "GET /a", 2*minute, []wantPoint{{1, 10, 2, nan}, {2, 30, 2, nan}, {3, 20, 0, nan}, {4, 5, 5, nan}})
	checkSeries(t, got[1], "api", "GET /b", 2*minute, []wantPoint{{1, 0, 0, nan}, {2, 10, 0, nan}, {3, 10, 0, nan}, {4, 0, 0, nan}})
	checkSeries(t, got[2], "api", "SELECT", 2*minute, []wantPoint{{1, 7, 0, nan}, {2, 7, 0, nan}, {3, 0, 0, nan}, {4, 0, 0, nan}})
	if r := got[1].Points[0].ErrorRate(); !math.IsNaN(r) {
		t.Errorf("error rate without calls %v, want NaN", r)
	}

	// A step longer than the window skips minutes; steps and windows are
	// rounded up to whole minutes; every service.
	q = SeriesQuery{End: t0 + int64(4*minute), Lookback: 3 * minute, Step: 90 * time.Second, Window: time.Second, Quantile: 1}
	got, err = a.Series(q)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Service != "api" || got[1].Service != "db" {
		t.Fatalf("series %+v, want api and db", got)
	}
	checkSeries(t, got[0], "api", "", minute, []wantPoint{{2, 30, 0, 30}, {4, 5, 5, 100}})
	checkSeries(t, got[1], "db", "", minute, []wantPoint{{2, 3, 0, 1}, {4, 0, 0, nan}})

	// Nothing in range: no series.
	q = SeriesQuery{End: t0 + int64(time.Hour), Lookback: minute, Step: minute, Window: minute}
	if got, err := a.Series(q); err != nil || len(got) != 0 {
		t.Errorf("series far from the data: %+v, %v", got, err)
	}
}

func TestSeriesBounds(t *testing.T) {
	minute := time.Minute
	q := SeriesQuery{End: t0 + int64(10*minute+1), Lookback: 5 * minute, Step: 2 * minute, Window: 3 * minute}
	start, end, err := q.Bounds()
	if err != nil {
		t.Fatal(err)
	}
	// Points at 10, 8, 6 minutes; the first window starts 3 minutes earlier.
	if start != t0+int64(3*minute) || end != t0+int64(10*minute) {
		t.Errorf("bounds t0%+ds, t0%+ds; want t0+180s, t0+600s", (start-t0)/1e9, (end-t0)/1e9)
	}
	// No minute boundary in [End-Lookback, End]: no point, nothing to read.
	q = SeriesQuery{End: t0 + 5, Step: minute, Window: minute, Lookback: 1}
	if start, end, err := q.Bounds(); err != nil || start != end {
		t.Errorf("bounds without a point: %d, %d, %v; want an empty range", start, end, err)
	}
	if got, err := redFixture().Series(q); err != nil || len(got) != 0 {
		t.Errorf("series without a point: %+v, %v", got, err)
	}
	for _, tt := range []struct {
		name string
		q    SeriesQuery
		want string
	}{
		{"no step", SeriesQuery{End: t0, Window: minute}, "must be positive"},
		{"no window", SeriesQuery{End: t0, Step: minute}, "must be positive"},
		{"negative lookback", SeriesQuery{End: t0, Step: minute, Window: minute, Lookback: -1}, "not negative"},
		{"bad quantile", SeriesQuery{End: t0, Step: minute, Window: minute, Quantile: 2}, "quantile"},
		{"too many points", SeriesQuery{End: t0, Step: minute, Window: minute, Lookback: 365 * 24 * time.Hour}, "at most 11000"},
	} {
		if _, _, err := tt.q.Bounds(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error about %q", tt.name, err, tt.want)
		}
		if _, err := New().Series(tt.q); err == nil {
			t.Errorf("%s: Series accepted the query", tt.name)
		}
	}
}
