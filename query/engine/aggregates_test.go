package engine

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/storage/compact"
	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
	"github.com/tracelake/tracelake/storage/tracegen"
	"github.com/tracelake/tracelake/storage/tracestore"
)

// aggT0 is a minute boundary; the fixture's spans start in the four
// minutes after it.
var aggT0 = time.Date(2026, 11, 21, 8, 10, 0, 0, time.UTC)

// aggSpan is one span of the aggregates fixture.
type aggSpan struct {
	trace, id, parent uint64
	service, name     string
	kind              ptrace.SpanKind
	minute            int // after aggT0
	offset, duration  time.Duration
	failed            bool
}

// aggTraces builds OTLP traces from specs, a resource per span.
func aggTraces(specs ...aggSpan) ptrace.Traces {
	td := ptrace.NewTraces()
	for _, sp := range specs {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", sp.service)
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], sp.trace)
		var id, parent pcommon.SpanID
		binary.BigEndian.PutUint64(id[:], sp.id)
		binary.BigEndian.PutUint64(parent[:], sp.parent)
		s.SetTraceID(tid)
		s.SetSpanID(id)
		s.SetParentSpanID(parent)
		s.SetName(sp.name)
		s.SetKind(sp.kind)
		start := aggT0.Add(time.Duration(sp.minute)*time.Minute + sp.offset)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(sp.duration)))
		if sp.failed {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	return td
}

// call returns a frontend → backend call at minute m: frontend's server
// span, its client span, and backend's server span (Zipkin-style shared
// with the client when shared is set).
func call(trace uint64, m int, backendMs int, failed, shared bool) []aggSpan {
	server := aggSpan{trace: trace, id: 2, parent: 1, service: "backend", name: "GET /item", kind: ptrace.SpanKindServer, minute: m, offset: time.Second, duration: time.Duration(backendMs) * time.Millisecond, failed: failed}
	if shared {
		server.id, server.parent = 1, 0
	}
	return []aggSpan{
		{trace: trace, id: 9, service: "frontend", name: "GET /", kind: ptrace.SpanKindServer, minute: m, duration: time.Duration(backendMs+5) * time.Millisecond},
		{trace: trace, id: 1, parent: 9, service: "frontend", name: "GET /item", kind: ptrace.SpanKindClient, minute: m, offset: time.Millisecond, duration: time.Duration(backendMs+1) * time.Millisecond},
		server,
	}
}

// aggFixture writes three ingest files: calls in minutes 0, 1 and 3 (one
// failed, one Zipkin-shared), a message from backend to a worker, and a
// trace whose child span was flushed to another file than its parent.
func aggFixture(t *testing.T) (*Engine, *tracestore.Store, time.Time) {
	t.Helper()
	ctx := context.Background()
	written := aggT0.Add(5 * time.Minute)
	store := tracestore.New(objstoretest.NewMemory(), tracestore.Config{Now: func() time.Time { return written }})
	files := [][]aggSpan{
		slices.Concat(call(1, 0, 10, false, false), call(2, 0, 20, true, false), call(3, 1, 30, false, true)),
		slices.Concat(call(4, 3, 40, false, false), []aggSpan{
			{trace: 5, id: 1, service: "backend", name: "publish", kind: ptrace.SpanKindProducer, minute: 1, duration: time.Millisecond},
			{trace: 5, id: 2, parent: 1, service: "worker", name: "process", kind: ptrace.SpanKindConsumer, minute: 1, offset: time.Second, duration: 50 * time.Millisecond},
			{trace: 6, id: 1, service: "frontend", name: "GET /", kind: ptrace.SpanKindServer, minute: 3, duration: 7 * time.Millisecond},
		}),
		{{trace: 6, id: 2, parent: 1, service: "backend", name: "GET /item", kind: ptrace.SpanKindServer, minute: 3, offset: time.Millisecond, duration: 5 * time.Millisecond}},
	}
	for _, specs := range files {
		if _, err := store.Write(ctx, "acme", tracestore.NewBatch(aggTraces(specs...))); err != nil {
			t.Fatal(err)
		}
	}
	cfg := DefaultConfig()
	cfg.Now = func() time.Time { return written }
	e, err := New(store, cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return e, store, written
}

func TestDependenciesEndToEnd(t *testing.T) {
	e, store, written := aggFixture(t)
	ctx := context.Background()
	minute := func(m int) time.Time { return aggT0.Add(time.Duration(m) * time.Minute) }
	check := func(t *testing.T, r query.TimeRange, want []query.DependencyLink) {
		t.Helper()
		got, err := e.Dependencies(ctx, "acme", r)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Dependencies(%s, %s)\n got %+v\nwant %+v", r.Start.Format("15:04:05"), r.End.Format("15:04:05"), got, want)
		}
	}

	t.Run("ingest files", func(t *testing.T) {
		// The link of trace 6 is split over two files: not counted yet.
		check(t, query.TimeRange{}, []query.DependencyLink{
			{Parent: "backend", Child: "worker", CallCount: 1},
			{Parent: "frontend", Child: "backend", CallCount: 4, ErrorCount: 1},
		})
		check(t, query.TimeRange{Start: minute(0), End: minute(1)}, []query.DependencyLink{
			{Parent: "frontend", Child: "backend", CallCount: 2, ErrorCount: 1},
		})
		// Minutes starting in [00:30, 02:30): minutes 1 and 2.
		check(t, query.TimeRange{Start: minute(0).Add(30 * time.Second), End: minute(2).Add(30 * time.Second)}, []query.DependencyLink{
			{Parent: "backend", Child: "worker", CallCount: 1},
			{Parent: "frontend", Child: "backend", CallCount: 1},
		})
		check(t, query.TimeRange{Start: minute(10), End: minute(20)}, []query.DependencyLink{})
		if n := len(e.aggs.items); n != 3 {
			t.Errorf("%d aggregates cached, want one per file", n)
		}
		if got, err := e.Dependencies(ctx, "other", query.TimeRange{}); err != nil || len(got) != 0 {
			t.Errorf("another tenant's links: %+v, %v", got, err)
		}
	})

	t.Run("compacted", func(t *testing.T) {
		cfg := compact.DefaultConfig()
		cfg.Now = func() time.Time { return written.Add(3 * time.Hour) }
		c, err := compact.New(store, cfg, slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		// Read from the block's stored aggregate, which saw trace 6 whole.
		check(t, query.TimeRange{}, []query.DependencyLink{
			{Parent: "backend", Child: "worker", CallCount: 1},
			{Parent: "frontend", Child: "backend", CallCount: 5, ErrorCount: 1},
		})
		check(t, query.TimeRange{Start: minute(3), End: minute(4)}, []query.DependencyLink{
			{Parent: "frontend", Child: "backend", CallCount: 2},
		})
	})
}

func TestMetricsEndToEnd(t *testing.T) {
	e, _, _ := aggFixture(t)
	ctx := context.Background()
	nan := math.NaN()
	base := query.MetricsQuery{
		Services: []string{"backend"},
		End:      aggT0.Add(4*time.Minute + 10*time.Second),
		Lookback: 3*time.Minute + 10*time.Second, // back to minute 1 exactly
		Step:     time.Minute,
		RatePer:  time.Minute,
	}
	type point struct {
		minute int
		value  float64
	}
	tests := []struct {
		name string
		q    func(q query.MetricsQuery) query.MetricsQuery
		want map[string][]point // by service/operation
	}{
		{
			name: "calls per second, every kind",
			q:    func(q query.MetricsQuery) query.MetricsQuery { q.Metric = query.MetricCalls; return q },
			// Points at minutes 1…4, each over the minute before it.
			want: map[string][]point{"backend/": {{1, 2.0 / 60}, {2, 2.0 / 60}, {3, 0}, {4, 2.0 / 60}}},
		},
		{
			name: "error rate of server spans",
			q: func(q query.MetricsQuery) query.MetricsQuery {
				q.Metric, q.SpanKinds = query.MetricErrors, []string{"server"}
				return q
			},
			want: map[string][]point{"backend/": {{1, 0.5}, {2, 0}, {3, nan}, {4, 0}}},
		},
		{
			name: "p95 latency by operation, two minutes a point",
			q: func(q query.MetricsQuery) query.MetricsQuery {
				q.Metric, q.Quantile, q.GroupByOperation, q.RatePer = query.MetricLatencies, 0.95, true, 2*time.Minute
				return q
			},
			want: map[string][]point{
				"backend/GET /item": {{1, 20}, {2, 30}, {3, 30}, {4, 40}},
				"backend/publish":   {{1, nan}, {2, 1}, {3, 1}, {4, nan}},
			},
		},
		{
			name: "two services, producer and consumer kinds",
			q: func(q query.MetricsQuery) query.MetricsQuery {
				q.Metric, q.Services, q.SpanKinds = query.MetricCalls, []string{"worker", "backend"}, []string{"producer", "consumer"}
				return q
			},
			want: map[string][]point{
				"backend/": {{1, 0}, {2, 1.0 / 60}, {3, 0}, {4, 0}},
				"worker/":  {{1, 0}, {2, 1.0 / 60}, {3, 0}, {4, 0}},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := tt.q(base)
			fam, err := e.Metrics(ctx, "acme", q)
			if err != nil {
				t.Fatal(err)
			}
			if fam.Metric != q.Metric {
				t.Errorf("metric %v, want %v", fam.Metric, q.Metric)
			}
			got := map[string][]point{}
			var order []string
			for _, s := range fam.Series {
				key := s.Service + "/" + s.Operation
				order = append(order, key)
				for _, p := range s.Points {
					got[key] = append(got[key], point{int(p.Time.Sub(aggT0) / time.Minute), p.Value})
				}
			}
			if !slices.IsSorted(order) || len(got) != len(tt.want) {
				t.Fatalf("series %v, want %d sorted", order, len(tt.want))
			}
			for key, want := range tt.want {
				g := got[key]
				if len(g) != len(want) {
					t.Fatalf("%s: %v, want %v", key, g, want)
				}
				for i := range want {
					same := g[i].minute == want[i].minute &&
						(math.IsNaN(want[i].value) && math.IsNaN(g[i].value) || math.Abs(g[i].value-want[i].value) <= want[i].value/100+1e-12)
					if !same {
						t.Errorf("%s point %d: %v, want %v", key, i, g[i], want[i])
					}
				}
			}
		})
	}
}

func TestMetricsRejects(t *testing.T) {
	e, _, _ := aggFixture(t)
	ok := query.MetricsQuery{Metric: query.MetricCalls, Services: []string{"a"}, End: aggT0, Lookback: time.Hour, Step: time.Minute, RatePer: time.Minute}
	for name, mutate := range map[string]func(*query.MetricsQuery){
		"no metric":          func(q *query.MetricsQuery) { q.Metric = 0 },
		"no service":         func(q *query.MetricsQuery) { q.Services = nil },
		"no end":             func(q *query.MetricsQuery) { q.End = time.Time{} },
		"no step":            func(q *query.MetricsQuery) { q.Step = 0 },
		"negative rate":      func(q *query.MetricsQuery) { q.RatePer = -time.Minute },
		"quantile above one": func(q *query.MetricsQuery) { q.Metric, q.Quantile = query.MetricLatencies, 1.5 },
		"no quantile":        func(q *query.MetricsQuery) { q.Metric = query.MetricLatencies },
		"unknown kind":       func(q *query.MetricsQuery) { q.SpanKinds = []string{"SERVER"} },
		"too many points":    func(q *query.MetricsQuery) { q.Lookback = 100 * 24 * time.Hour },
	} {
		q := ok
		mutate(&q)
		if _, err := e.Metrics(context.Background(), "acme", q); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := e.Metrics(context.Background(), "acme", ok); err != nil {
		t.Errorf("valid query: %v", err)
	}
}

// TestAggregatesConcurrently runs queries at once over the cached
// aggregates (for the race detector).
func TestAggregatesConcurrently(t *testing.T) {
	e, _, _ := aggFixture(t)
	ctx := context.Background()
	q := query.MetricsQuery{Metric: query.MetricLatencies, Quantile: 0.5, Services: []string{"backend"}, End: aggT0.Add(time.Hour), Lookback: time.Hour, Step: time.Minute, RatePer: time.Minute}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if _, err := e.Dependencies(ctx, "acme", query.TimeRange{}); err != nil {
					t.Error(err)
				}
				if _, err := e.Metrics(ctx, "acme", q); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}

// BenchmarkScanAggregate measures building a file's aggregate from its
// spans: the cost of the first query over an ingest file.
func BenchmarkScanAggregate(b *testing.B) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	store := tracestore.New(objstoretest.NewMemory(), tracestore.Config{})
	td := tracegen.Telemetrygen(rng, 2000, 9, aggT0)
	ref, err := store.Write(ctx, "acme", tracestore.NewBatch(td))
	if err != nil {
		b.Fatal(err)
	}
	f, err := store.Open(ctx, ref)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := scanAggregate(ctx, f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*td.SpanCount()), "ns/span")
}
