package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// envBenchUI, set to 1, runs TestWebUIBenchmark (make bench-ui).
const envBenchUI = "TRACELAKE_BENCH_UI"

// bigTrace is a trace of n spans over ten services: span i's parent is
// span (i-1)/4, so the tree is about seven levels deep, and each child
// runs inside its parent's time.
func bigTrace(n int) seedSpan {
	services := []string{"edge", "frontend", "checkout", "cart", "catalog", "pricing", "inventory", "payment", "shipping", "email"}
	nodes := make([]*seedSpan, n)
	depth := make([]int, n)
	nodes[0] = &seedSpan{service: "edge", name: "GET /big", kind: trace.SpanKindServer, dur: 10 * time.Second,
		attrs: []attribute.KeyValue{attribute.String("http.route", "/big")}}
	children := make([][]int, n)
	for i := 1; i < n; i++ {
		p := (i - 1) / 4
		children[p] = append(children[p], i)
		depth[i] = depth[p] + 1
	}
	// Times top-down: child k of 4 gets a quarter of its parent's time.
	for i := 0; i < n; i++ {
		if i > 0 {
			p := (i - 1) / 4
			k := (i - 1) % 4
			slot := nodes[p].dur / 4
			kind := trace.SpanKindInternal
			svc := services[(depth[i]+i%3)%len(services)]
			if svc != nodes[p].service {
				kind = trace.SpanKindServer
			}
			nodes[i] = &seedSpan{service: svc, name: fmt.Sprintf("op-%d", i%50), kind: kind,
				at: nodes[p].at + time.Duration(k)*slot + slot/20, dur: slot * 9 / 10,
				attrs: []attribute.KeyValue{attribute.Int("span.index", i), attribute.String("component", "bench")}}
			if i%97 == 0 {
				nodes[i].err = "simulated failure"
			}
			if i%13 == 0 {
				nodes[i].event = "checkpoint"
			}
		}
	}
	// Link children bottom-up (emit walks seedSpan values).
	for i := n - 1; i >= 0; i-- {
		for _, c := range children[i] {
			nodes[i].children = append(nodes[i].children, *nodes[c])
		}
	}
	return *nodes[0]
}

// TestWebUIBenchmark measures, in headless Chromium, the time from
// navigation start until a view has rendered with data, for a trace of
// 10,000 spans and a search answering 1,500 traces, both ingested over
// OTLP into a real all-in-one and compacted. It runs only with
// TRACELAKE_BENCH_UI=1 (make bench-ui).
func TestWebUIBenchmark(t *testing.T) {
	if os.Getenv(envBenchUI) != "1" {
		t.Skipf("a benchmark: run it with %s=1 (make bench-ui)", envBenchUI)
	}
	env := needBrowser(t)
	st := localStorage(t)
	p := start(t, "all-in-one", st, "--compactor.settle", "-1h", "--compactor.interval", "1s", "--compactor.grace", "0s")

	const spans, traces = 10_000, 1_500
	seeder := newUISeeder(t, p.grpcAddr)
	now := time.Now()
	t0 := time.Now()
	big := seeder.emit(context.Background(), "", now.Add(-20*time.Minute), bigTrace(spans))
	for i := range traces {
		ms := time.Millisecond
		root := seedSpan{service: "bench-search", name: fmt.Sprintf("GET /item/%d", i%20), kind: trace.SpanKindServer,
			dur: time.Duration(5+i%200) * ms, attrs: []attribute.KeyValue{attribute.Int("i", i)},
			children: []seedSpan{
				{service: "bench-search", name: "SELECT item", kind: trace.SpanKindClient, at: 1 * ms, dur: 2 * ms},
				{service: "bench-store", name: "GET /stock", kind: trace.SpanKindServer, at: 3 * ms, dur: time.Duration(1+i%100) * ms},
			}}
		if i%25 == 0 {
			root.err = "simulated failure"
		}
		seeder.emit(context.Background(), "", now.Add(-30*time.Minute+time.Duration(i)*time.Second), root)
	}
	seeder.flush()
	if got := seeder.spans[big]; got != spans {
		t.Fatalf("the big trace has %d spans, want %d", got, spans)
	}
	t.Logf("ingested %d spans over OTLP in %s", spans+3*traces, time.Since(t0).Round(time.Millisecond))
	waitNoIngestFiles(t, st)
	t.Logf("compacted after %s", time.Since(t0).Round(time.Millisecond))

	fx := map[string]any{
		"baseURL":   p.queryURL,
		"chromium":  env.chromium,
		"runs":      5,
		"bigTrace":  big,
		"bigSpans":  spans,
		"searchURL": fmt.Sprintf("/search?service=bench-search&lookback=1h&limit=%d", traces),
		"traces":    traces,
	}
	env.runScript(t, "bench.mjs", fx, 10*time.Minute)
}

// waitNoIngestFiles waits until the compactor has turned every ingest
// file into blocks (tracelake inspect blocks says so).
func waitNoIngestFiles(t *testing.T, st storage) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var out, errb bytes.Buffer
		cmd := exec.Command(binary, "inspect", "blocks", "--storage", st.url)
		cmd.Env = append(cmd.Environ(), st.env...)
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			t.Fatalf("inspect blocks: %v\n%s", err, errb.String())
		}
		if strings.Contains(out.String(), " 0 uncompacted ingest files") && strings.Contains(out.String(), "used") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ingest files left after 3 minutes:\n%s", out.String())
		}
		time.Sleep(500 * time.Millisecond)
	}
}
