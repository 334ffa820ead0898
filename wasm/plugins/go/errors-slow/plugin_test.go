package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/sdktest"
)

func traceID(r uint64) [16]byte {
	var id [16]byte
	for i := 15; i >= 9; i-- {
		id[i] = byte(r)
		r >>= 8
	}
	return id
}

func TestConfig(t *testing.T) {
	for cfg, want := range map[string]string{
		``:                          "",
		`{"min_duration_ms": 500}`:  "",
		`{"min_duration_ms": -1}`:   "min_duration_ms -1 is not a duration",
		`{"min_duration_ms": 1e20}`: "is not a duration",
		`{"percent": 200}`:          "percent 200 is not in [0, 100]",
		`{"percent": 1e-30}`:        "percent: probability",
		`{"min_duration": 5}`:       `unknown field "min_duration"`,
	} {
		err := sdktest.Init(cfg)
		if want == "" && err != nil || want != "" && (err == nil || !strings.Contains(err.Error(), want)) {
			t.Errorf("config %s: error %v, want %q", cfg, err, want)
		}
	}
}

func TestDecisions(t *testing.T) {
	if err := sdktest.Init(`{"min_duration_ms": 500, "percent": 5}`); err != nil {
		t.Fatal(err)
	}
	// 5% is threshold f3333 (precision 4, plus one for the leading f).
	in, out := traceID(0xf3333000000000), traceID(0xf3332fffffffff)
	const ms = 1_000_000
	res, err := sdktest.Run(sdktest.Batch{Spans: []sdktest.Span{
		{TraceID: out, Status: sdk.StatusError, TraceState: "ot=th:8"}, // error: kept, untouched
		{TraceID: out, DurationNano: 500 * ms},                         // slow: kept
		{TraceID: out, DurationNano: 500*ms - 1, Status: sdk.StatusOK}, // neither, not sampled
		{TraceID: in, DurationNano: 10 * ms},                           // neither, sampled: th recorded
		{TraceID: in, TraceState: "ot=th:f8"},                          // inconsistent th: erased, th recorded
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 3, 4}; !slices.Equal(res.Kept(), want) {
		t.Errorf("kept %v, want %v", res.Kept(), want)
	}
	want := []sdktest.Edit{
		{Span: 3, Op: sdktest.OpSetTraceState, Value: "ot=th:f3333"},
		{Span: 4, Op: sdktest.OpSetTraceState, Value: "ot=th:f3333"},
	}
	if !slices.Equal(res.Edits, want) {
		t.Errorf("edits %+v, want %+v", res.Edits, want)
	}

	// Without a duration rule, slow spans are only sampled.
	if err := sdktest.Init(`{"percent": 0}`); err != nil {
		t.Fatal(err)
	}
	res, err = sdktest.Run(sdktest.Batch{Spans: []sdktest.Span{
		{TraceID: in, DurationNano: 1 << 62},
		{TraceID: in, Status: sdk.StatusError},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{1}; !slices.Equal(res.Kept(), want) {
		t.Errorf("kept %v, want %v", res.Kept(), want)
	}
}
