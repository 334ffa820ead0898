package host

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/tracelake/tracelake/wasm/wasmtest"
)

// modules are the test plugins by name, built by TestMain, and compiled
// into cacheDir, which test loaders use.
var (
	modules  map[string][]byte
	cacheDir string
)

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "tracelake-plugins-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		if modules, cacheDir, err = wasmtest.BuildGoPrecompiled(dir, map[string]string{
			"rules":      "./wasm/host/testdata/plugins/rules",
			"hostile":    "./wasm/host/testdata/plugins/hostile",
			"badversion": "./wasm/host/testdata/plugins/badversion",
			"noop":       "./wasm/host/testdata/plugins/noop",
		}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return m.Run()
	}()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func newLoader(t *testing.T) (*Loader, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	l, err := NewLoader(LoaderConfig{CacheDir: cacheDir, Registerer: reg, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close(context.Background()) })
	return l, reg
}

func load(t *testing.T, l *Loader, cfg Config) *Plugin {
	t.Helper()
	p, err := l.Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p
}

// traces builds spans named as given, each with a "secret" attribute, the
// odd ones with a trace state, in two resources.
func traces(names ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	for r := 0; r < 2; r++ {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%d", r))
		ss := rs.ScopeSpans().AppendEmpty()
		for i, name := range names {
			if i%2 != r {
				continue
			}
			s := ss.Spans().AppendEmpty()
			s.SetTraceID(pcommon.TraceID{byte(i + 1)})
			s.SetSpanID(pcommon.SpanID{byte(i + 1)})
			s.SetName(name)
			s.Attributes().PutStr("secret", "hunter2")
			s.Attributes().PutInt("n", int64(i))
			if i%2 == 1 {
				s.TraceState().FromRaw("vendor=x")
			}
		}
	}
	return td
}

func spansByName(td ptrace.Traces) map[string]ptrace.Span {
	out := map[string]ptrace.Span{}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				out[s.Name()] = s
			}
		}
	}
	return out
}

func TestDecisionsAndEdits(t *testing.T) {
	l, reg := newLoader(t)
	p := load(t, l, Config{Name: "rules", Module: modules["rules"]})
	td := traces("keep-a", "drop-b", "keep-c", "drop-d", "keep-e")
	st, err := p.Process(context.Background(), td)
	if err != nil {
		t.Fatal(err)
	}
	if st.Kept != 3 || st.Dropped != 2 || st.Failed != 0 {
		t.Fatalf("stats %+v", st)
	}
	got := spansByName(td)
	if len(got) != 3 || td.SpanCount() != 3 {
		t.Fatalf("kept %v", got)
	}
	for name, s := range got {
		if _, ok := s.Attributes().Get("secret"); ok {
			t.Errorf("%s: secret not deleted", name)
		}
		seen, _ := s.Attributes().Get("seen")
		if want := map[string]string{"keep-a": "svc-0", "keep-c": "svc-0", "keep-e": "svc-0"}[name]; seen.Str() != want {
			t.Errorf("%s: seen = %q, want %q", name, seen.Str(), want)
		}
		if n, _ := s.Attributes().Get("n"); n.Type() != pcommon.ValueTypeInt {
			t.Errorf("%s: an attribute the plugin did not edit changed: %v", name, n)
		}
	}
	// Edits to dropped spans are not applied; dropped spans' resources stay
	// only while they have spans.
	if td.ResourceSpans().Len() != 1 {
		t.Errorf("%d resources left; the one whose spans were all dropped should be gone", td.ResourceSpans().Len())
	}
	if got := testutil.ToFloat64(l.metrics.spans.WithLabelValues("rules", "dropped")); got != 2 {
		t.Errorf("dropped metric %v", got)
	}
	_ = reg
}

func TestTraceStateEdit(t *testing.T) {
	l, _ := newLoader(t)
	p := load(t, l, Config{Name: "rules", Module: modules["rules"]})
	td := traces("keep-a", "keep-b")
	if _, err := p.Process(context.Background(), td); err != nil {
		t.Fatal(err)
	}
	got := spansByName(td)
	if ts := got["keep-b"].TraceState().AsRaw(); ts != "ot=th:8" {
		t.Errorf("trace state %q, want the plugin's edit", ts)
	}
	if ts := got["keep-a"].TraceState().AsRaw(); ts != "" {
		t.Errorf("a span without trace state got %q", ts)
	}
}

func TestLargeRequestsAreSplit(t *testing.T) {
	l, _ := newLoader(t)
	p := load(t, l, Config{Name: "rules", Module: modules["rules"], MaxBatchSpans: 3, MaxInstances: 1})
	var names []string
	for i := 0; i < 10; i++ {
		names = append(names, fmt.Sprintf("keep-%d", i), fmt.Sprintf("drop-%d", i))
	}
	td := traces(names...)
	st, err := p.Process(context.Background(), td)
	if err != nil {
		t.Fatal(err)
	}
	if st.Kept != 10 || st.Dropped != 10 {
		t.Fatalf("stats %+v", st)
	}
	batches := map[string]bool{}
	for _, s := range spansByName(td) {
		b, _ := s.Attributes().Get("batch")
		batches[b.Str()] = true
	}
	// Spans go in flatten order: the 10 kept spans (the first resource's)
	// fill the first 4 batches of 3.
	if len(batches) != 4 {
		t.Errorf("kept spans saw %d different batches, want 4", len(batches))
	}
}

func TestHostilePlugins(t *testing.T) {
	for _, tc := range []struct {
		mode    string
		kind    string
		policy  Policy
		timeout time.Duration
	}{
		{"loop", "timeout", FailOpen, 100 * time.Millisecond},
		// Go's collector slows the bomb down; give it time to reach the limit.
		{"bomb", "memory", FailClosed, 10 * time.Second},
		{"trap", "trap", FailOpen, 0},
		{"exit", "trap", FailClosed, 0},
		{"bad-decision", "bad_output", FailOpen, 0},
		{"bad-edits", "bad_output", FailOpen, 0},
		{"edit-out-of-range", "bad_output", FailClosed, 0},
		{"error", "error", FailOpen, 0},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			if tc.timeout == 0 {
				tc.timeout = time.Second
			}
			l, _ := newLoader(t)
			p := load(t, l, Config{Name: "hostile", Module: modules["hostile"], PluginConfig: []byte(tc.mode),
				Policy: tc.policy, Timeout: tc.timeout, MemoryLimitPages: 512, MaxInstances: 2})
			for round := 0; round < 2; round++ { // the failed instance is replaced
				td := traces("a", "b", "c")
				start := time.Now()
				st, err := p.Process(context.Background(), td)
				if err != nil {
					t.Fatal(err)
				}
				if time.Since(start) > 20*time.Second {
					t.Fatalf("a hostile batch took %s", time.Since(start))
				}
				if st.Failed != 3 || st.Failure == nil || !strings.HasPrefix(st.Failure.Error(), tc.kind) {
					t.Fatalf("round %d: stats %+v, want a %s failure", round, st, tc.kind)
				}
				want := 3
				if tc.policy == FailClosed {
					want = 0
				}
				if td.SpanCount() != want {
					t.Fatalf("%s kept %d spans, want %d", tc.policy, td.SpanCount(), want)
				}
				if tc.policy == FailOpen {
					if _, ok := spansByName(td)["a"].Attributes().Get("secret"); !ok {
						t.Error("fail-open changed the spans")
					}
				}
			}
			if got := testutil.ToFloat64(l.metrics.batches.WithLabelValues("hostile", tc.kind)); got != 2 {
				t.Errorf("%s failures counted %v, want 2", tc.kind, got)
			}
			if n := p.created.Load(); n > 2 {
				t.Errorf("%d instances alive; failed ones must be discarded", n)
			}
		})
	}
	t.Run("error message", func(t *testing.T) {
		l, _ := newLoader(t)
		p := load(t, l, Config{Name: "hostile", Module: modules["hostile"], PluginConfig: []byte("error")})
		st, _ := p.Process(context.Background(), traces("a"))
		if st.Failure == nil || !strings.Contains(st.Failure.Error(), "plugin says no") {
			t.Fatalf("failure %v does not carry the plugin's message", st.Failure)
		}
	})
	t.Run("growing within the limit is fine", func(t *testing.T) {
		l, _ := newLoader(t)
		p := load(t, l, Config{Name: "hostile", Module: modules["hostile"], PluginConfig: []byte("grow")})
		for i := 0; i < 3; i++ {
			if st, _ := p.Process(context.Background(), traces("a")); st.Failed != 0 {
				t.Fatalf("a plugin growing its memory within the limit failed: %v", st.Failure)
			}
		}
	})
}

func TestLoadErrors(t *testing.T) {
	l, _ := newLoader(t)
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"not wasm", Config{Module: []byte("MZ not wasm")}, "not a valid WebAssembly module"},
		{"empty module", Config{Module: []byte("\x00asm\x01\x00\x00\x00")}, "does not export tracelake_abi_version"},
		{"wrong version", Config{Module: modules["badversion"]}, "ABI version 2"},
		{"config without init", Config{Module: modules["badversion"], PluginConfig: []byte("{}")}, "does not export tracelake_init"},
		{"init fails", Config{Module: modules["hostile"], PluginConfig: []byte("init-fail")}, "refusing to start"},
		{"bad pool", Config{Module: modules["rules"], MinInstances: 3, MaxInstances: 2}, "min instances"},
	} {
		tc.cfg.Name = tc.name
		_, err := l.Load(context.Background(), tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s: Load = %v, want an error naming the plugin and saying %q", tc.name, err, tc.want)
		}
	}
}

// TestPoolHammer: many goroutines share a small pool; every answer is
// right and the pool never exceeds its bound.
func TestPoolHammer(t *testing.T) {
	l, _ := newLoader(t)
	p := load(t, l, Config{Name: "rules", Module: modules["rules"], MaxInstances: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for i := 0; i < 30; i++ {
				var names []string
				kept := 0
				for j := rng.IntN(20); j >= 0; j-- {
					if rng.IntN(2) == 0 {
						names = append(names, fmt.Sprintf("drop-%d", j))
					} else {
						names = append(names, fmt.Sprintf("keep-%d", j))
						kept++
					}
				}
				td := traces(names...)
				if _, err := p.Process(context.Background(), td); err != nil {
					errs <- err
					return
				}
				if td.SpanCount() != kept {
					errs <- fmt.Errorf("kept %d spans, want %d", td.SpanCount(), kept)
					return
				}
				if n := p.created.Load(); n > 3 {
					errs <- fmt.Errorf("%d instances, the bound is 3", n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func TestClosedPluginRefuses(t *testing.T) {
	l, _ := newLoader(t)
	p := load(t, l, Config{Name: "rules", Module: modules["rules"]})
	p.Close(context.Background())
	if _, err := p.Process(context.Background(), traces("a")); err == nil {
		t.Fatal("a closed plugin processed a batch")
	}
}

func TestCompilationCacheOnDisk(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 2; i++ {
		l, err := NewLoader(LoaderConfig{CacheDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		p, err := l.Load(context.Background(), Config{Name: "rules", Module: modules["rules"]})
		if err != nil {
			t.Fatal(err)
		}
		p.Close(context.Background())
		l.Close(context.Background())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) == 0 {
		t.Fatal("nothing was cached on disk")
	}
}

func telemetrygenLike(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "telemetrygen")
	ss := rs.ScopeSpans().AppendEmpty()
	for i := 0; i < n; i++ {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{byte(i), byte(i >> 8), 1})
		s.SetSpanID(pcommon.SpanID{byte(i), 2})
		s.SetName("okey-dokey-0")
		s.Attributes().PutStr("network.peer.address", "1.2.3.4")
		s.Attributes().PutStr("peer.service", "telemetrygen-client")
	}
	return td
}

// BenchmarkProcess: the host's whole cost per span — flattening,
// writing the batch, the call, reading the answer, removing nothing — with
// a plugin that does nothing, by batch size. The plugin changes nothing,
// so one input serves every iteration.
func BenchmarkProcess(b *testing.B) {
	l, err := NewLoader(LoaderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(context.Background())
	p, err := l.Load(context.Background(), Config{Name: "noop", Module: modules["noop"], MaxInstances: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	for _, n := range []int{64, 256, 1024, 4096} {
		b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
			td := telemetrygenLike(n)
			b.ReportAllocs()
			for b.Loop() {
				if st, err := p.Process(context.Background(), td); err != nil || st.Kept != n || st.Failed != 0 {
					b.Fatal(st, err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
		})
	}
}
