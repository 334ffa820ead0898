package scalebench

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

func TestApportion(t *testing.T) {
	for _, tc := range []struct {
		total   int
		weights []float64
		want    []int
	}{
		{10, []float64{1, 1, 1}, []int{4, 3, 3}},
		{0, []float64{1, 2}, []int{0, 0}},
		{7, []float64{1, 2, 4}, []int{1, 2, 4}},
		{5, []float64{1, 1, 1, 1, 1, 1}, []int{1, 1, 1, 1, 1, 0}},
	} {
		if got := apportion(tc.total, tc.weights); !slices.Equal(got, tc.want) {
			t.Errorf("apportion(%d, %v) = %v, want %v", tc.total, tc.weights, got, tc.want)
		}
	}
}

func TestPlanFiles(t *testing.T) {
	start := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		spans, traces, hours, fileSpans, big, bigSpans int
	}{
		{10_000_000, 1_000_000, 24, 25_000, 5, 10_000},
		{20_000, 2_000, 24, 25_000, 5, 200},
		{20_000, 2_000, 4, 2_500, 2, 500},
		{100, 100, 3, 10, 0, 1},
	} {
		cfg := DefaultConfig()
		cfg.Spans, cfg.Traces, cfg.Hours, cfg.FileSpans, cfg.BigTraces, cfg.BigTraceSpans = tc.spans, tc.traces, tc.hours, tc.fileSpans, tc.big, tc.bigSpans
		cfg.Minio = "minio"
		if err := cfg.Validate(); err != nil {
			t.Fatal(err)
		}
		files := planFiles(cfg, start)
		var spans, traces, big int
		hours := map[time.Time]bool{}
		for i, f := range files {
			if f.index != i || f.traces < 1 || f.spans < f.traces || !f.from.Before(f.to) ||
				f.to.After(f.hourEnd) || f.hourEnd.Sub(f.from) > time.Hour {
				t.Fatalf("%+v: file %d: %+v", tc, i, f)
			}
			hours[f.hourEnd] = true
			spans += f.spans + f.big*tc.bigSpans
			traces += f.traces + f.big
			big += f.big
		}
		if spans != tc.spans || traces != tc.traces || big != tc.big || len(hours) != tc.hours {
			t.Errorf("%+v: planned %d spans, %d traces, %d big, %d hours", tc, spans, traces, big, len(hours))
		}
		if mean := tc.spans / len(files); tc.spans/tc.hours >= tc.fileSpans && (mean < tc.fileSpans*2/3 || mean > tc.fileSpans*3/2) {
			t.Errorf("%+v: %d files of %d spans on average", tc, len(files), mean)
		}
	}
}

func TestTraceSizes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range [][2]int{{1000, 10_000}, {1, 1}, {5, 5}, {3, 1000}} {
		sizes := traceSizes(rng, tc[0], tc[1])
		sum := 0
		for _, s := range sizes {
			if s < 1 {
				t.Fatalf("%v: size %d", tc, s)
			}
			sum += s
		}
		if len(sizes) != tc[0] || sum != tc[1] {
			t.Errorf("%v: %d sizes summing to %d", tc, len(sizes), sum)
		}
	}
}

// A generated file is well-formed, realistic data: exact counts, one root
// per trace, parents in the trace, every span kind, errors at about the
// configured rate, services and operations spread by popularity.
func TestGenerator(t *testing.T) {
	w := newWorld(rand.New(rand.NewPCG(7, 0)), 10_000)
	if len(w.services) != 30 {
		t.Fatalf("%d services", len(w.services))
	}
	for _, s := range w.services {
		if len(s.ops) < 6 || len(s.resources) < 2 || (s.layer > 0 && !calledBySomeone(w, s)) {
			t.Errorf("service %s: %d ops, %d instances, called: %v", s.name, len(s.ops), len(s.resources), calledBySomeone(w, s))
		}
	}
	hour := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	spec := fileSpec{from: hour, to: hour.Add(5 * time.Minute), hourEnd: hour.Add(time.Hour), traces: 3000, spans: 30_000, big: 1}
	g := newGenerator(w, 1, 0, 0.015)
	out := g.file(spec, 10_000)
	if out.spans != 40_000 || out.traces != 3001 || out.td.SpanCount() != 40_000 {
		t.Fatalf("%d spans (%d in td), %d traces", out.spans, out.td.SpanCount(), out.traces)
	}

	type traceInfo struct {
		spans, roots int
		ids          map[pcommon.SpanID]bool
		parents      []pcommon.SpanID
	}
	traces := map[pcommon.TraceID]*traceInfo{}
	kinds := map[ptrace.SpanKind]int{}
	services := map[string]int{}
	var errors, users int
	minStart, maxEnd := int64(math.MaxInt64), int64(0)
	for _, rs := range out.td.ResourceSpans().All() {
		svc, _ := rs.Resource().Attributes().Get("service.name")
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				ti := traces[s.TraceID()]
				if ti == nil {
					ti = &traceInfo{ids: map[pcommon.SpanID]bool{}}
					traces[s.TraceID()] = ti
				}
				ti.spans++
				if ti.ids[s.SpanID()] {
					t.Fatalf("duplicate span ID %s", s.SpanID())
				}
				ti.ids[s.SpanID()] = true
				if s.ParentSpanID().IsEmpty() {
					ti.roots++
				} else {
					ti.parents = append(ti.parents, s.ParentSpanID())
				}
				if s.EndTimestamp() <= s.StartTimestamp() {
					t.Fatalf("span %s ends at %d, before its start %d", s.Name(), s.EndTimestamp(), s.StartTimestamp())
				}
				minStart = min(minStart, int64(s.StartTimestamp()))
				maxEnd = max(maxEnd, int64(s.EndTimestamp()))
				kinds[s.Kind()]++
				services[svc.Str()]++
				if s.Status().Code() == ptrace.StatusCodeError {
					errors++
				}
				if _, ok := s.Attributes().Get("user.id"); ok {
					users++
				}
			}
		}
	}
	if len(traces) != out.traces {
		t.Fatalf("%d distinct trace IDs, want %d", len(traces), out.traces)
	}
	for id, ti := range traces {
		if ti.roots != 1 {
			t.Fatalf("trace %s has %d roots", id, ti.roots)
		}
		for _, p := range ti.parents {
			if !ti.ids[p] {
				t.Fatalf("trace %s: parent %s is not in the trace", id, p)
			}
		}
	}
	for _, s := range out.samples {
		if traces[s.id] == nil || traces[s.id].spans != s.spans {
			t.Errorf("sample %+v: trace has %v", s, traces[s.id])
		}
	}
	if !slices.ContainsFunc(out.samples, func(s traceSample) bool { return s.big && s.spans == 10_000 }) {
		t.Error("the big trace is not sampled")
	}
	if minStart != out.minStart || maxEnd != out.maxEnd || minStart < spec.from.UnixNano() {
		t.Errorf("time range %d–%d, reported %d–%d", minStart, maxEnd, out.minStart, out.maxEnd)
	}
	for _, k := range []ptrace.SpanKind{ptrace.SpanKindServer, ptrace.SpanKindClient, ptrace.SpanKindInternal, ptrace.SpanKindProducer, ptrace.SpanKindConsumer} {
		if kinds[k] == 0 {
			t.Errorf("no %s spans: %v", k, kinds)
		}
	}
	if rate := float64(errors) / float64(out.spans); errors != out.errors || rate < 0.01 || rate > 0.02 {
		t.Errorf("%d error spans (%d counted), %.2f%%", errors, out.errors, 100*rate)
	}
	if len(services) < 25 || users < out.traces/2 {
		t.Errorf("%d services, %d entry spans with user.id", len(services), users)
	}
	// Popularity is skewed: the busiest service has many times the spans
	// of the median one.
	counts := make([]int, 0, len(services))
	for _, n := range services {
		counts = append(counts, n)
	}
	slices.Sort(counts)
	if busiest, median := counts[len(counts)-1], counts[len(counts)/2]; busiest < 3*median {
		t.Errorf("spans by service not skewed: busiest %d, median %d", busiest, median)
	}
}

func calledBySomeone(w *world, s *service) bool {
	for _, c := range w.services {
		for _, d := range c.down {
			if w.services[d] == s {
				return true
			}
		}
	}
	return false
}

// The same seed makes the same data, whatever the order files are made in.
func TestGeneratorDeterministic(t *testing.T) {
	hour := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	spec := fileSpec{index: 3, from: hour, to: hour.Add(time.Minute), hourEnd: hour.Add(time.Hour), traces: 50, spans: 500}
	var sizes []int
	for range 2 {
		w := newWorld(rand.New(rand.NewPCG(9, 0)), 1000)
		newGenerator(w, 9, 1, 0.015).file(fileSpec{index: 1, from: hour, to: hour.Add(time.Minute), hourEnd: hour.Add(time.Hour), traces: 5, spans: 50}, 10)
		out := newGenerator(w, 9, spec.index, 0.015).file(spec, 10)
		sizes = append(sizes, (&ptrace.ProtoMarshaler{}).TracesSize(out.td))
		if len(sizes) == 2 && sizes[0] != sizes[1] {
			t.Fatalf("OTLP sizes %v differ", sizes)
		}
	}
}
