package main

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/sdktest"
)

func traceID(r uint64) [16]byte {
	var id [16]byte
	id[0] = 0xaa
	for i := 15; i >= 9; i-- {
		id[i] = byte(r)
		r >>= 8
	}
	return id
}

func TestConfig(t *testing.T) {
	for cfg, want := range map[string]string{
		``:                   "percent is required",
		`{}`:                 "percent is required",
		`{"percent": 101}`:   "not in [0, 100]",
		`{"percent": -2}`:    "not in [0, 100]",
		`{"percent": -1}`:    "not in [0, 100]",
		`{"percent": "10"}`:  `percent: want a number, got "10"`,
		`{"percent": 1e-20}`: "is not 0 or in [2^-56, 1]",
		`{"ratio": 1}`:       `unknown field "ratio"`,
		`{"percent": 10}`:    "",
	} {
		err := sdktest.Init(cfg)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("config %s: error %v, want %q", cfg, err, want)
		}
	}
	if f := sdk.Registered().Features(); f != 0 {
		t.Errorf("features %b: the plugin reads no attributes", f)
	}
}

func TestDecisions(t *testing.T) {
	if err := sdktest.Init(`{"percent": 10}`); err != nil { // T = e666 (precision 4)
		t.Fatal(err)
	}
	below, at := traceID(0xe665ffffffffff), traceID(0xe6660000000000)
	res, err := sdktest.Run(sdktest.Batch{Spans: []sdktest.Span{
		{TraceID: below},
		{TraceID: at},
		{TraceID: at, TraceState: "vendor=1"},
		{TraceID: below, TraceState: "ot=rv:ffffffffffffff;p:3"},     // rv overrides the trace ID
		{TraceID: at, TraceState: "ot=th:8"},                         // lower threshold: raised
		{TraceID: at, TraceState: "ot=th:fe"},                        // inconsistent (R < th): erased
		{TraceID: traceID(0xff000000000000), TraceState: "ot=th:fe"}, // stricter, consistent: no edit
		{TraceID: at, TraceState: "ot=th:e666"},                      // already right: no edit
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := []sdk.Decision{sdk.Drop, sdk.Keep, sdk.Keep, sdk.Keep, sdk.Keep, sdk.Keep, sdk.Keep, sdk.Keep}
	for i := range want {
		if res.Decisions[i] != want[i] {
			t.Errorf("span %d: %v, want %v", i, res.Decisions[i], want[i])
		}
	}
	wantEdits := []sdktest.Edit{
		{Span: 1, Op: sdktest.OpSetTraceState, Value: "ot=th:e666"},
		{Span: 2, Op: sdktest.OpSetTraceState, Value: "ot=th:e666,vendor=1"},
		{Span: 3, Op: sdktest.OpSetTraceState, Value: "ot=th:e666;rv:ffffffffffffff;p:3"},
		{Span: 4, Op: sdktest.OpSetTraceState, Value: "ot=th:e666"},
		{Span: 5, Op: sdktest.OpSetTraceState, Value: "ot=th:e666"},
	}
	if len(res.Edits) != len(wantEdits) {
		t.Fatalf("edits %+v, want %+v", res.Edits, wantEdits)
	}
	for i := range wantEdits {
		if res.Edits[i] != wantEdits[i] {
			t.Errorf("edit %d: %+v, want %+v", i, res.Edits[i], wantEdits[i])
		}
	}
}

// TestConsistent: every span of a trace gets the trace's decision, and
// about percent of traces are kept.
func TestConsistent(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, percent := range []string{"0", "1", "25", "100"} {
		if err := sdktest.Init(`{"percent": ` + percent + `}`); err != nil {
			t.Fatal(err)
		}
		var b sdktest.Batch
		const traces, perTrace = 4000, 4
		for range traces {
			var id [16]byte
			for i := range id {
				id[i] = byte(rng.Uint32())
			}
			for range perTrace {
				b.Spans = append(b.Spans, sdktest.Span{TraceID: id})
			}
		}
		res, err := sdktest.Run(b)
		if err != nil {
			t.Fatal(err)
		}
		kept := 0
		for i := 0; i < len(b.Spans); i += perTrace {
			for j := 1; j < perTrace; j++ {
				if res.Decisions[i+j] != res.Decisions[i] {
					t.Fatalf("percent %s: trace %x split", percent, b.Spans[i].TraceID)
				}
			}
			if res.Decisions[i] == sdk.Keep {
				kept++
			}
		}
		got := float64(kept) / traces * 100
		var want float64
		switch percent {
		case "1":
			want = 1
		case "25":
			want = 25
		case "100":
			want = 100
		}
		if d := got - want; d > 2.5 || d < -2.5 {
			t.Errorf("percent %s: kept %.1f%% of traces", percent, got)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	if err := sdktest.Init(`{"percent": 10}`); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	var batch sdktest.Batch
	for range 1024 {
		batch.Spans = append(batch.Spans, sdktest.Span{TraceID: traceID(rng.Uint64())})
	}
	buf := batch.Encode()
	p := sdk.Registered()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := p.Sample(buf); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1024, "ns/span")
}
