package zipkinapi

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query/httpquery"
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

func TestGolden(t *testing.T) {
	tests := []struct {
		name, target string
	}{
		{"trace_zipkin", "/api/v2/trace/463ac35c9f6413ad"},
		{"trace_otlp", "/api/v2/trace/4bf92f3577b34da6a3ce929d0e0e4736"},
		{"traces", "/api/v2/traces?serviceName=frontend&limit=20"},
		{"trace_many", "/api/v2/traceMany?traceIds=4bf92f3577b34da6a3ce929d0e0e4736,abcd,463ac35c9f6413ad"},
		{"dependencies", "/api/v2/dependencies?endTs=1714564800000&lookback=604800000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := querytest.Get(t, newTestServer(goldenQuerier(t), Options{}), tt.target)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			querytest.GoldenJSON(t, filepath.Join("testdata", tt.name+".golden.json"), w.Body.Bytes())
		})
	}
}

// spanKey identifies a Zipkin span: the two halves of a shared span have
// the same ID and differ by kind.
func spanKey(s zipkinmodel.SpanModel) string {
	return s.ID.String() + "/" + string(s.Kind)
}

// TestZipkinRoundTrip checks that a trace reported in Zipkin's format,
// stored as OTLP and served here, comes back with its essentials intact,
// so that a careless -update cannot bless a regression in the golden file.
func TestZipkinRoundTrip(t *testing.T) {
	_, sent := plainZipkinTrace(t)
	w := querytest.Get(t, newTestServer(goldenQuerier(t), Options{}), "/api/v2/trace/463ac35c9f6413ad")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	var got []zipkinmodel.SpanModel
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("decode: %v\n%s", err, w.Body)
	}
	if len(got) != len(sent) {
		t.Fatalf("%d spans served, %d sent", len(got), len(sent))
	}
	if !strings.Contains(w.Body.String(), `"traceId":"463ac35c9f6413ad"`) {
		t.Errorf("64-bit trace ID not served as 16 hex characters")
	}
	byKey := make(map[string]zipkinmodel.SpanModel, len(got))
	for i, s := range got {
		byKey[spanKey(s)] = s
		if i > 0 && s.Timestamp.Before(got[i-1].Timestamp) {
			t.Errorf("span %d is not sorted by timestamp", i)
		}
	}

	endpoint := func(e *zipkinmodel.Endpoint) string {
		if e == nil {
			return "<nil>"
		}
		b, _ := json.Marshal(e)
		return string(b)
	}
	for _, want := range sent {
		key := spanKey(want)
		s, ok := byKey[key]
		if !ok {
			t.Errorf("span %s missing", key)
			continue
		}
		if s.TraceID != want.TraceID {
			t.Errorf("%s: traceId %s, want %s", key, s.TraceID, want.TraceID)
		}
		if (s.ParentID == nil) != (want.ParentID == nil) || (s.ParentID != nil && *s.ParentID != *want.ParentID) {
			t.Errorf("%s: parentId %v, want %v", key, s.ParentID, want.ParentID)
		}
		if s.Name != want.Name {
			t.Errorf("%s: name %q, want %q", key, s.Name, want.Name)
		}
		if s.Shared != want.Shared || s.Debug != want.Debug {
			t.Errorf("%s: shared %v debug %v, want %v %v", key, s.Shared, s.Debug, want.Shared, want.Debug)
		}
		if !s.Timestamp.Equal(want.Timestamp) || s.Duration != want.Duration {
			t.Errorf("%s: timestamp %v duration %v, want %v %v", key, s.Timestamp, s.Duration, want.Timestamp, want.Duration)
		}
		if g, w := endpoint(s.LocalEndpoint), endpoint(want.LocalEndpoint); g != w {
			t.Errorf("%s: localEndpoint %s, want %s", key, g, w)
		}
		if g, w := endpoint(s.RemoteEndpoint), endpoint(want.RemoteEndpoint); g != w {
			t.Errorf("%s: remoteEndpoint %s, want %s", key, g, w)
		}
		if len(s.Annotations) != len(want.Annotations) {
			t.Errorf("%s: annotations %+v, want %+v", key, s.Annotations, want.Annotations)
		} else {
			for i := range s.Annotations {
				if s.Annotations[i].Value != want.Annotations[i].Value || !s.Annotations[i].Timestamp.Equal(want.Annotations[i].Timestamp) {
					t.Errorf("%s: annotation %d %+v, want %+v", key, i, s.Annotations[i], want.Annotations[i])
				}
			}
		}
		wantTags := maps.Clone(want.Tags)
		if _, ok := wantTags["error"]; ok {
			// An error tag becomes an OTLP error status, which the
			// translator reports back as the OpenTelemetry Zipkin
			// exporter does.
			wantTags["otel.status_code"] = "STATUS_CODE_ERROR"
		}
		if !maps.Equal(s.Tags, wantTags) {
			t.Errorf("%s: tags\n got %v\nwant %v", key, s.Tags, want.Tags)
		}
	}
}

// TestZipkinFieldsWithoutIngestAttributes serves a Zipkin trace stored
// without the attributes that keep debug and shared: shared is still
// known from the span IDs, debug is lost, and client tags that look like
// those attributes stay tags.
func TestZipkinFieldsWithoutIngestAttributes(t *testing.T) {
	td, _ := plainZipkinTrace(t)
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				if s.Name() == "render" {
					s.Attributes().PutStr(attrShared, "true")
					s.Attributes().PutStr(attrDebug, "yes")
				}
			}
		}
	}
	spans, err := toZipkin(td)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range spans {
		wantShared := s.ID.String() == "72485a3953bb6124" && s.Kind == zipkinmodel.Server
		if s.Shared != wantShared || s.Debug {
			t.Errorf("%s %s: shared %v debug %v, want shared %v", s.ID, s.Kind, s.Shared, s.Debug, wantShared)
		}
		if s.Name == "render" && (s.Tags[attrShared] != "true" || s.Tags[attrDebug] != "yes") {
			t.Errorf("client's own tags lost: %v", s.Tags)
		}
	}
}

// TestOTLPTraceSemantics checks what the OTLP trace's golden file is meant
// to show.
func TestOTLPTraceSemantics(t *testing.T) {
	w := querytest.Get(t, newTestServer(goldenQuerier(t), Options{}), "/api/v2/trace/4bf92f3577b34da6a3ce929d0e0e4736")
	var got []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got) != 3 {
		t.Fatalf("decode: %v, %d spans\n%s", err, len(got), w.Body)
	}
	var order []string
	for _, s := range got {
		order = append(order, s["id"].(string))
		if s["traceId"] != "4bf92f3577b34da6a3ce929d0e0e4736" {
			t.Errorf("traceId %v", s["traceId"])
		}
	}
	// b1 and c1 start together: ID order.
	if want := []string{"00f067aa0ba902b7", "00000000000000b1", "00000000000000c1"}; !slices.Equal(order, want) {
		t.Errorf("span order %v, want %v", order, want)
	}
	root, call, work := got[0], got[1], got[2]
	if root["name"] != "get /cart" || root["localEndpoint"].(map[string]any)["serviceName"] != "checkout-api" {
		t.Errorf("root name %v, endpoint %v: zipkin-go writes names in lowercase", root["name"], root["localEndpoint"])
	}
	tags := root["tags"].(map[string]any)
	for k, want := range map[string]string{"error": "true", "otel.status_code": "STATUS_CODE_ERROR", "otel.status_description": "inventory down", "http.status_code": "503"} {
		if tags[k] != want {
			t.Errorf("root tag %s = %v, want %q", k, tags[k], want)
		}
	}
	if remote := call["remoteEndpoint"].(map[string]any); remote["serviceName"] != "inventory" || remote["ipv4"] != "10.0.0.7" {
		t.Errorf("client remoteEndpoint %v, want inventory at 10.0.0.7", remote)
	}
	if _, ok := work["duration"]; ok {
		t.Errorf("span that ended before it started has duration %v", work["duration"])
	}
	if work["tags"].(map[string]any)["span.kind"] != "internal" {
		t.Errorf("internal span tags %v", work["tags"])
	}
}

// TestUnservableSpans checks that a span the translator refuses costs only
// itself, and that a trace the translator cannot encode at all is a
// logged 500, not a panic or a partial answer.
func TestUnservableSpans(t *testing.T) {
	td := otlpTrace()
	bad := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().AppendEmpty()
	bad.SetTraceID(otlpID) // no span ID
	bad.SetName("no id")
	q := &querytest.Fake{Traces: map[pcommon.TraceID]ptrace.Traces{otlpID: td}}
	w := querytest.Get(t, newTestServer(q, Options{}), "/api/v2/trace/4bf92f3577b34da6a3ce929d0e0e4736")
	var spans []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &spans); err != nil || len(spans) != 3 {
		t.Errorf("status %d, %d spans (%v), want the 3 valid ones", w.Code, len(spans), err)
	}
	if td.SpanCount() != 4 {
		t.Error("the Querier's trace was modified")
	}

	nan := otlpTrace()
	ev := nan.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Events().AppendEmpty()
	ev.Attributes().PutDouble("ratio", math.NaN())
	var logs bytes.Buffer
	q = &querytest.Fake{Traces: map[pcommon.TraceID]ptrace.Traces{otlpID: nan}, Found: []ptrace.Traces{nan}}
	h := newTestServer(q, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	for _, target := range []string{"/api/v2/trace/4bf92f3577b34da6a3ce929d0e0e4736", "/api/v2/traces"} {
		w = querytest.Get(t, h, target)
		if w.Code != 500 || w.Body.String() != httpquery.MsgInternal {
			t.Errorf("%s: %d %q, want 500 %q", target, w.Code, w.Body, httpquery.MsgInternal)
		}
	}
	if !strings.Contains(logs.String(), "NaN") {
		t.Errorf("log %q does not say why", logs.String())
	}
}
