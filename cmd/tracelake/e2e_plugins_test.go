package main

// End-to-end tests of sampling plugins: the real binary loads the example
// probabilistic plugin from its configuration file, spans arrive through
// the real OpenTelemetry SDK's OTLP exporter with every trace split
// across requests (and, in split roles, across ingest processes), and the
// Jaeger API shows which traces were kept.

import (
	"context"
	bin "encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/tracelake/tracelake/wasm/wasmtest"
)

const (
	sampledTraces   = 10_000
	spansPerTrace   = 4
	samplingPercent = 10
	// sampledThreshold is T for 10 % in OpenTelemetry's consistent
	// probability sampling, as the plugin computes it (th:e666): a trace
	// is kept iff the low 56 bits of its ID are at least T.
	sampledThreshold = uint64(0xe666) << 40
	sampledTH        = "ot=th:e666"
)

// sampledTrace is one generated trace and whether the sampling rule keeps
// it, computed here from the ID alone.
type sampledTrace struct {
	id   trace.TraceID
	keep bool
}

func genSampledTraces(t *testing.T) []sampledTrace {
	seed := uint64(time.Now().UnixNano())
	t.Logf("trace ID seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	out := make([]sampledTrace, sampledTraces)
	for i := range out {
		bin.BigEndian.PutUint64(out[i].id[:8], rng.Uint64())
		bin.BigEndian.PutUint64(out[i].id[8:], rng.Uint64())
		r := bin.BigEndian.Uint64(out[i].id[8:]) & (1<<56 - 1)
		out[i].keep = r >= sampledThreshold
	}
	return out
}

// sampledSpans is span s (0..spansPerTrace-1) of every trace, as the SDK
// hands finished spans to an exporter: span 0 is the root.
func sampledSpans(traces []sampledTrace, service string, which func(s int) bool) []sdktrace.ReadOnlySpan {
	res := resource.NewSchemaless(attribute.String("service.name", service))
	now := time.Now().Add(-time.Minute)
	var stubs tracetest.SpanStubs
	for i, tr := range traces {
		for s := range spansPerTrace {
			if !which(s) {
				continue
			}
			sc := trace.NewSpanContext(trace.SpanContextConfig{
				TraceID: tr.id, SpanID: trace.SpanID{0, 0, 0, 0, byte(i >> 16), byte(i >> 8), byte(i), byte(s + 1)},
				TraceFlags: trace.FlagsSampled,
			})
			stub := tracetest.SpanStub{
				Name:                 fmt.Sprintf("op-%d", s),
				SpanContext:          sc,
				SpanKind:             trace.SpanKindServer,
				StartTime:            now.Add(time.Duration(s) * time.Millisecond),
				EndTime:              now.Add(time.Duration(s+1) * time.Millisecond),
				Resource:             res,
				InstrumentationScope: instrumentation.Scope{Name: "tracelake-e2e"},
			}
			if s > 0 {
				stub.Parent = trace.NewSpanContext(trace.SpanContextConfig{
					TraceID: tr.id, SpanID: trace.SpanID{0, 0, 0, 0, byte(i >> 16), byte(i >> 8), byte(i), 1},
				})
			}
			stubs = append(stubs, stub)
		}
	}
	return stubs.Snapshots()
}

// exportShuffled sends spans in shuffled requests of 500 through exp, so
// the spans of a trace arrive in different requests (and batches, and
// plugin calls).
func exportShuffled(exp sdktrace.SpanExporter, spans []sdktrace.ReadOnlySpan) error {
	rand.Shuffle(len(spans), func(i, j int) { spans[i], spans[j] = spans[j], spans[i] })
	for chunk := range slices.Chunk(spans, 500) {
		if err := exp.ExportSpans(context.Background(), chunk); err != nil {
			return fmt.Errorf("export: %w", err)
		}
	}
	return nil
}

// writePluginConfig writes a configuration file naming the module at
// module (copied beside it, so the relative source resolves against the
// file's directory) as the default chain.
func writePluginConfig(t *testing.T, module []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "probabilistic.wasm"), module, 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`plugins:
  default:
    - name: probabilistic
      source: probabilistic.wasm
      config: {percent: %d}
      policy: fail-closed
`, samplingPercent)
	path := filepath.Join(dir, "tracelake.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type sampledSearch struct {
	Data []struct {
		TraceID string `json:"traceID"`
		Spans   []struct {
			SpanID string `json:"spanID"`
			Tags   []struct {
				Key   string `json:"key"`
				Value any    `json:"value"`
			} `json:"tags"`
		} `json:"spans"`
	} `json:"data"`
}

// checkSampled asserts that the query process holds exactly the traces
// the rule keeps, each whole and each span marked with the threshold it
// was sampled at, and none of the others.
func checkSampled(t *testing.T, queryURL, service string, traces []sampledTrace) {
	t.Helper()
	want := map[string]bool{}
	for _, tr := range traces {
		if tr.keep {
			want[tr.id.String()] = true
		}
	}
	// The kept count is binomial(10,000, (2^56 - T)/2^56 ≈ 0.1): a count
	// outside ±6σ means the IDs were not random or the rule is not the one
	// computed above.
	p := float64(1<<56-sampledThreshold) / (1 << 56)
	mean, sigma := sampledTraces*p, math.Sqrt(sampledTraces*p*(1-p))
	if n := float64(len(want)); math.Abs(n-mean) > 6*sigma {
		t.Fatalf("the rule keeps %v of %d traces, expected %.0f ± %.0f", n, sampledTraces, mean, 6*sigma)
	}

	now := time.Now()
	q := url.Values{
		"service": {service},
		"start":   {fmt.Sprint(now.Add(-time.Hour).UnixMicro())},
		"end":     {fmt.Sprint(now.Add(time.Minute).UnixMicro())},
		"limit":   {fmt.Sprint(sampledTraces)},
	}
	var res sampledSearch
	if code := getJSON(t, queryURL+"/api/traces?"+q.Encode(), nil, &res); code != 200 {
		t.Fatalf("search = %d", code)
	}
	wrong := 0 // reported up to 20, then counted
	report := func(format string, args ...any) {
		if wrong++; wrong <= 20 {
			t.Errorf(format, args...)
		}
	}
	got := map[string]bool{}
	for _, tr := range res.Data {
		got[tr.TraceID] = true
		if !want[tr.TraceID] {
			report("trace %s was stored, but its randomness is below the 10%% threshold", tr.TraceID)
			continue
		}
		if len(tr.Spans) != spansPerTrace {
			report("trace %s stored with %d of its %d spans", tr.TraceID, len(tr.Spans), spansPerTrace)
		}
		for _, s := range tr.Spans {
			state := ""
			for _, tag := range s.Tags {
				if tag.Key == "w3c.tracestate" {
					state = fmt.Sprint(tag.Value)
				}
			}
			if state != sampledTH {
				report("trace %s span %s: trace state %q, want %q", tr.TraceID, s.SpanID, state, sampledTH)
			}
		}
	}
	missing := 0
	for id := range want {
		if !got[id] {
			missing++
			report("trace %s should have been kept but was not stored", id)
		}
	}
	if wrong > 0 {
		t.Fatalf("%d wrong traces or spans; stored %d traces, the rule keeps %d (%d missing)", wrong, len(got), len(want), missing)
	}
	// Dropped traces are not there by ID either.
	checked := 0
	for _, tr := range traces {
		if !tr.keep && checked < 5 {
			checked++
			if code := getJSON(t, queryURL+"/api/traces/"+tr.id.String(), nil, nil); code != 404 {
				t.Errorf("dropped trace %s: GET = %d, want 404", tr.id, code)
			}
		}
	}
}

// TestSamplingPluginAllInOne: the all-in-one with the probabilistic
// plugin at 10 % keeps exactly the traces the rule selects, each whole
// although its spans came in different requests.
func TestSamplingPluginAllInOne(t *testing.T) {
	built, err := wasmtest.BuildGo(t.TempDir(), map[string]string{"probabilistic": "./wasm/plugins/go/probabilistic"})
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, "all-in-one", localStorage(t),
		"--config", writePluginConfig(t, built["probabilistic"]),
		"--query.max-limit", fmt.Sprint(sampledTraces))
	traces := genSampledTraces(t)
	if err := exportShuffled(grpcExporter(t, p.grpcAddr, nil), sampledSpans(traces, "sampled", func(int) bool { return true })); err != nil {
		t.Fatal(err)
	}
	checkSampled(t, p.queryURL, "sampled", traces)

	metrics := scrape(t, p.adminURL)
	kept, dropped := 0, 0
	for _, tr := range traces {
		if tr.keep {
			kept += spansPerTrace
		} else {
			dropped += spansPerTrace
		}
	}
	for _, line := range []string{
		fmt.Sprintf(`tracelake_plugin_spans_total{decision="kept",plugin="probabilistic"} %d`, kept),
		fmt.Sprintf(`tracelake_plugin_spans_total{decision="dropped",plugin="probabilistic"} %d`, dropped),
		`tracelake_plugins_loaded 1`,
	} {
		if !strings.Contains(metrics, line) {
			t.Errorf("metrics lack %q:\n%s", line, grepLines(metrics, "tracelake_plugin"))
		}
	}
	if strings.Contains(metrics, `result="error"`) && grepLines(grepLines(metrics, "tracelake_plugin_batches_total"), `result="ok"`) == "" {
		t.Errorf("plugin batches failed:\n%s", grepLines(metrics, "tracelake_plugin_batches_total"))
	}
}

// TestSamplingPluginSplitRoles: two ingest processes receive different
// spans of the same traces — one running the Go plugin, the other the
// Rust one — and write to one MinIO bucket; the query process sees every
// kept trace whole, because the decision depends on the trace ID alone,
// in either language, on either process.
func TestSamplingPluginSplitRoles(t *testing.T) {
	rust := wasmtest.Prebuilt(t, "rust-probabilistic.wasm")
	built, err := wasmtest.BuildGo(t.TempDir(), map[string]string{"probabilistic": "./wasm/plugins/go/probabilistic"})
	if err != nil {
		t.Fatal(err)
	}
	st := minioStorage(t)
	a := start(t, "ingest", st, "--config", writePluginConfig(t, built["probabilistic"]))
	b := start(t, "ingest", st, "--config", writePluginConfig(t, rust))
	q := start(t, "query", st, "--query.max-limit", fmt.Sprint(sampledTraces))

	traces := genSampledTraces(t)
	expA, expB := grpcExporter(t, a.grpcAddr, nil), grpcExporter(t, b.grpcAddr, nil)
	errB := make(chan error, 1)
	go func() {
		errB <- exportShuffled(expB, sampledSpans(traces, "split-sampled", func(s int) bool { return s >= 2 }))
	}()
	if err := exportShuffled(expA, sampledSpans(traces, "split-sampled", func(s int) bool { return s < 2 })); err != nil {
		t.Fatal(err)
	}
	if err := <-errB; err != nil {
		t.Fatal(err)
	}
	checkSampled(t, q.queryURL, "split-sampled", traces)
}
