package plugins

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/tracegen"
	"github.com/tracelake/tracelake/wasm/wasmtest"
)

// examplePlugins are the example plugins the chain benchmark runs, with a
// configuration each (from their READMEs). The Go ones are built on first
// use, the Rust ones come from `make plugins`.
var examplePlugins = []struct{ name, config string }{
	{"rust-keep-all", ""},
	{"go-keep-all", ""},
	{"rust-probabilistic", `{"percent": 10}`},
	{"go-probabilistic", `{"percent": 10}`},
	{"go-errors-slow", `{"min_duration_ms": 500, "percent": 5}`},
	{"go-attribute-rules", `{"drop": [{"attribute": "http.route", "equals": "/health"}, {"attribute": "url.path", "prefix": "/ready"}]}`},
	{"go-rate-limit", `{"spans_per_second": 1000000}`},
	{"go-pii-redaction", `{"detect": ["email", "card", "bearer"]}`},
}

var goExamples = sync.OnceValues(func() (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "tracelake-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	pkgs := map[string]string{}
	for _, name := range []string{"keep-all", "probabilistic", "errors-slow", "attribute-rules", "rate-limit", "pii-redaction"} {
		pkgs["go-"+name] = "./wasm/plugins/go/" + name
	}
	return wasmtest.BuildGo(dir, pkgs)
})

// benchSpans are n spans shaped like telemetrygen's with what the example
// plugins look at mixed in: one span in 16 an error, one in 32 a health
// check, one in 8 carrying an e-mail address.
func benchSpans(n int) ptrace.Traces {
	td := tracegen.Telemetrygen(rand.New(rand.NewPCG(1, 2)), n/4, 3, time.Unix(1_700_000_000, 0))
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	for i := range spans.Len() {
		s := spans.At(i)
		if i%16 == 5 {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
		if i%32 == 7 {
			s.Attributes().PutStr("http.route", "/health")
		}
		if i%8 == 3 {
			s.Attributes().PutStr("enduser.email", "jane.doe@example.com")
		}
	}
	return td
}

// BenchmarkChain: what a chain of one plugin adds per span to an ingest
// request — the whole Process of the pipeline stage: flattening, writing
// the batch, the plugin, reading its answer, removing dropped spans,
// applying edits — by plugin and batch size. ns/span is the number to
// compare against the budget (20 ns/span for a trivial Rust plugin, 60
// for a trivial Go one, at 1,024).
func BenchmarkChain(b *testing.B) {
	goMods, err := goExamples()
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	for _, ex := range examplePlugins {
		b.Run(ex.name, func(b *testing.B) {
			module, ok := goMods[ex.name]
			if !ok {
				module = wasmtest.Prebuilt(b, ex.name+".wasm")
			}
			path := filepath.Join(dir, ex.name+".wasm")
			if err := os.WriteFile(path, module, 0o644); err != nil {
				b.Fatal(err)
			}
			m := NewManager(loader, Options{})
			defer m.Close(context.Background())
			spec := Spec{Name: ex.name, Source: path, Config: []byte(ex.config), MinInstances: 1, MaxInstances: 1}
			if err := m.Apply(context.Background(), Chains{Default: []Spec{spec}}); err != nil {
				b.Fatal(err)
			}
			for _, n := range []int{64, 256, 1024, 4096} {
				b.Run(fmt.Sprintf("batch=%d", n), func(b *testing.B) {
					benchChain(b, m, benchSpans(n))
				})
			}
		})
	}
}

func benchChain(b *testing.B, m *Manager, in ptrace.Traces) {
	n := in.SpanCount()
	// Plugins drop and edit spans in place: each call gets a fresh copy,
	// made with the timer stopped. The copies' garbage would otherwise be
	// collected during timed calls (on a 2-core machine the collector
	// takes a core), so the collector runs only with the timer stopped.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	kept := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if i%64 == 0 {
			runtime.GC()
		}
		td := ptrace.NewTraces()
		in.CopyTo(td)
		b.StartTimer()
		out, err := m.Process(context.Background(), "t", td)
		if err != nil {
			b.Fatal(err)
		}
		kept += out.SpanCount()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
	b.ReportMetric(100*float64(kept)/float64(b.N*n), "kept%")
	if failed := loaderFailures(); failed != "" {
		b.Fatalf("plugin failures during the benchmark:\n%s", failed)
	}
}

// loaderFailures are the warnings and errors the shared loader logged:
// a failed batch is logged, and would make a benchmark measure the
// failure policy instead of the plugin.
func loaderFailures() string {
	var out []string
	for _, line := range strings.Split(loaderLogs.String(), "\n") {
		if strings.Contains(line, "level=WARN") || strings.Contains(line, "level=ERROR") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
