package jaegerapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query/querytest"
)

// newTestServer serves a over a fake clock.
func newTestServer(f *querytest.Fake, opts Options) http.Handler {
	if opts.Now == nil {
		opts.Now = func() time.Time { return fixedNow }
	}
	mux := http.NewServeMux()
	New(f, opts).Register(mux)
	return mux
}

const v3Window = "query.startTimeMin=2024-05-01T11:00:00Z&query.startTimeMax=2024-05-01T12:00:00.5Z"

func TestGolden(t *testing.T) {
	tests := []struct {
		name, target string
	}{
		{"v1_trace", "/api/traces/4bf92f3577b34da6a3ce929d0e0e4736"},
		{"v1_search", "/api/traces?service=frontend&limit=20"},
		{"v1_trace_ids", "/api/traces?traceID=ABCD&traceID=1234"},
		{"v3_trace", "/api/v3/traces/4bf92f3577b34da6a3ce929d0e0e4736"},
		{"v3_traces", "/api/v3/traces?query.serviceName=frontend&" + v3Window},
		{"v3_summaries", "/api/v3/trace-summaries?query.serviceName=frontend&" + v3Window},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := querytest.Get(t, newTestServer(goldenQuerier(), Options{}), tt.target)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			querytest.GoldenJSON(t, filepath.Join("testdata", tt.name+".golden.json"), w.Body.Bytes())
		})
	}
}

// TestUITraceSemantics checks the properties the golden file is meant to
// show, so that a careless -update cannot bless a regression.
func TestUITraceSemantics(t *testing.T) {
	w := querytest.Get(t, newTestServer(goldenQuerier(), Options{}), "/api/traces/4bf92f3577b34da6a3ce929d0e0e4736")
	var env struct {
		Data []uiTrace `json:"data"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || len(env.Data) != 1 {
		t.Fatalf("decode: %v, %d traces\n%s", err, len(env.Data), w.Body)
	}
	tr := env.Data[0]
	if tr.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("traceID %q", tr.TraceID)
	}
	if len(tr.Processes) != 2 || tr.Processes["p1"].ServiceName != "frontend" || tr.Processes["p2"].ServiceName != "backend" {
		t.Errorf("processes %+v, want p1 frontend (shared by both frontend resources), p2 backend", tr.Processes)
	}
	var order []string
	spans := map[string]uiSpan{}
	for i, s := range tr.Spans {
		order = append(order, s.OperationName)
		spans[s.OperationName] = s
		if i > 0 && s.StartTime < tr.Spans[i-1].StartTime {
			t.Errorf("spans not sorted by start time at %d", i)
		}
	}
	wantOrder := "GET /checkout,SELECT orders,POST /charge,compute tax,orders process,orders publish,late retry"
	if got := strings.Join(order, ","); got != wantOrder {
		t.Errorf("span order\n got %s\nwant %s", got, wantOrder)
	}
	if p := spans["orders publish"].ProcessID; p != "p1" {
		t.Errorf("second frontend resource got process %q, want p1", p)
	}

	tags := func(kvs []uiKeyValue) map[string]uiKeyValue {
		m := map[string]uiKeyValue{}
		for _, kv := range kvs {
			m[kv.Key] = kv
		}
		return m
	}
	rt := tags(spans["GET /checkout"].Tags)
	for key, want := range map[string]uiKeyValue{
		"span.kind":               {Type: "string", Value: "server"},
		"otel.status_code":        {Type: "string", Value: "ERROR"},
		"otel.status_description": {Type: "string", Value: "upstream failed"},
		"error":                   {Type: "bool", Value: true},
		"otel.scope.name":         {Type: "string", Value: "io.opentelemetry.http"},
		"otel.scope.version":      {Type: "string", Value: "1.2.3"},
		"w3c.tracestate":          {Type: "string", Value: "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"},
		"payload":                 {Type: "binary", Value: "3q2+7w=="},
		"big.number":              {Type: "int64", Value: "9007199254740993"},
		"http.status_code":        {Type: "int64", Value: float64(500)},
		"sample.ratio":            {Type: "float64", Value: 0.25},
		"tags":                    {Type: "string", Value: `["a",2]`},
	} {
		got, ok := rt[key]
		if !ok || got.Type != want.Type || got.Value != want.Value {
			t.Errorf("root tag %s = %+v, want %+v", key, got, want)
		}
	}
	if f := spans["GET /checkout"].Flags; f != 1 {
		t.Errorf("root flags %d, want 1 (sampled)", f)
	}
	if logs := spans["GET /checkout"].Logs; len(logs) != 2 || logs[0].Fields[0].Key != "event" || logs[0].Fields[0].Value != "cache miss" {
		t.Errorf("root logs %+v", logs)
	}
	if refs := spans["GET /checkout"].References; refs == nil || len(refs) != 0 {
		t.Errorf("root references %#v, want empty list", refs)
	}
	wantRefs := []uiReference{
		{RefType: "CHILD_OF", TraceID: tr.TraceID, SpanID: "00f067aa0ba902b7"},
		{RefType: "CHILD_OF", TraceID: tr.TraceID, SpanID: "00000000000000b1"},
	}
	if got := spans["POST /charge"].References; len(got) != 2 || got[0] != wantRefs[0] || got[1] != wantRefs[1] {
		t.Errorf("charge references %+v, want %+v", got, wantRefs)
	}
	if got := spans["SELECT orders"].References; len(got) != 2 || got[1].RefType != "FOLLOWS_FROM" || got[1].TraceID != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("db references %+v, want parent then FOLLOWS_FROM link", got)
	}
	if s := spans["GET /checkout"]; s.Duration != 150000 || s.StartTime != uint64(traceT0.UnixMicro()) {
		t.Errorf("root start %d duration %d", s.StartTime, s.Duration)
	}
}

func TestSummarySemantics(t *testing.T) {
	s, ok := summarize(richTrace())
	if !ok {
		t.Fatal("no summary")
	}
	want := traceSummary{
		TraceID:              "4bf92f3577b34da6a3ce929d0e0e4736",
		RootServiceName:      "frontend",
		RootOperationName:    "GET /checkout",
		MinStartTimeUnixNano: "1714563000123456789",
		MaxEndTimeUnixNano:   "1714563000333456789",
		SpanCount:            7,
		ErrorSpanCount:       2,
		OrphanSpanCount:      1,
		Services: []serviceSummary{
			{Name: "backend", SpanCount: 3, ErrorSpanCount: 1},
			{Name: "frontend", SpanCount: 4, ErrorSpanCount: 1},
		},
	}
	gotJSON, _ := json.Marshal(s)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(gotJSON, wantJSON) {
		t.Errorf("summary\n got %s\nwant %s", gotJSON, wantJSON)
	}
	if _, ok := summarize(ptrace.NewTraces()); ok {
		t.Error("summary of an empty trace")
	}
}
