package zipkin

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jaegertracing/jaeger-idl/thrift-gen/zipkincore"
	zipkinthrift "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinthriftconverter"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/proto"

	"github.com/tracelake/tracelake/functions/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type call struct {
	protocol, tenant string
	td               ptrace.Traces
}

// fakeConsumer records what reaches the pipeline. Unless told otherwise it
// answers like the real pipeline: spans without a trace or span ID are
// rejected, the rest accepted.
type fakeConsumer struct {
	mu     sync.Mutex
	calls  []call
	err    error
	result *pipeline.Result
}

func (f *fakeConsumer) Consume(_ context.Context, protocol, tenant string, td ptrace.Traces) (pipeline.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	cp := ptrace.NewTraces()
	td.CopyTo(cp)
	f.calls = append(f.calls, call{protocol, tenant, cp})
	if f.err != nil {
		return pipeline.Result{}, f.err
	}
	if f.result != nil {
		return *f.result, nil
	}
	return validate(td), nil
}

// validate answers as the pipeline does: spans without a trace or span
// ID are rejected, the rest accepted.
func validate(td ptrace.Traces) pipeline.Result {
	var res pipeline.Result
	forEachSpan(td, func(s ptrace.Span) {
		if !s.TraceID().IsEmpty() && !s.SpanID().IsEmpty() {
			res.Accepted++
			return
		}
		res.Rejected++
		if res.RejectMessage == "" {
			res.RejectMessage = fmt.Sprintf("span %q: trace_id or span_id is empty", s.Name())
		}
	})
	return res
}

// spans returns every span received, with the service.name of its resource.
func (f *fakeConsumer) spans() []gotSpan {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []gotSpan
	for _, c := range f.calls {
		rss := c.td.ResourceSpans()
		for i := 0; i < rss.Len(); i++ {
			svc := ""
			if v, ok := rss.At(i).Resource().Attributes().Get("service.name"); ok {
				svc = v.AsString()
			}
			sss := rss.At(i).ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				for k := 0; k < sss.At(j).Spans().Len(); k++ {
					out = append(out, gotSpan{service: svc, resource: rss.At(i).Resource().Attributes(),
						scope: sss.At(j).Scope(), Span: sss.At(j).Spans().At(k)})
				}
			}
		}
	}
	return out
}

type gotSpan struct {
	service  string
	resource pcommon.Map
	scope    pcommon.InstrumentationScope
	ptrace.Span
}

// find returns the received spans with span ID id (hex) and kind.
func find(t *testing.T, spans []gotSpan, id string, kind ptrace.SpanKind) gotSpan {
	t.Helper()
	var found []gotSpan
	for _, s := range spans {
		if s.SpanID().String() == id && s.Kind() == kind {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans with ID %s and kind %s, want 1", len(found), id, kind)
	}
	return found[0]
}

var testConfig = Config{MaxRequestBytes: 64 << 10, TenantHeader: "X-Scope-OrgID", DefaultTenant: "single-tenant"}

func logger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newMux(fc pipeline.Consumer) *http.ServeMux {
	mux := http.NewServeMux()
	NewHandler(testConfig, fc, logger()).Register(mux)
	return mux
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// protoOf re-encodes a v2 JSON body as protobuf with zipkin-go's
// serializer (what its reporter sends).
func protoOf(t testing.TB, jsonBody []byte) []byte {
	t.Helper()
	var spans []*zipkinmodel.SpanModel
	if err := json.Unmarshal(jsonBody, &spans); err != nil {
		t.Fatal(err)
	}
	b, err := zipkin_proto3.SpanSerializer{}.Serialize(spans)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func i64(v int64) *int64 { return &v }

// thriftSpans is a v1 client span as Finagle would report it over Thrift.
func thriftSpans() []*zipkincore.Span {
	frontend := &zipkincore.Endpoint{Ipv4: 127<<24 | 1, Port: 8080, ServiceName: "frontend"}
	backend := &zipkincore.Endpoint{Ipv4: -(256-192)<<24 | 168<<16 | 99<<8 | 101, Port: 9000, ServiceName: "backend"}
	return []*zipkincore.Span{{
		TraceID:     0x216a2aea45d08fc9,
		TraceIDHigh: i64(0x7180c278b62e8f6a),
		ID:          0x5b4185666d50f68b,
		ParentID:    i64(0x6b221d5bc9e6496c),
		Name:        "get",
		Timestamp:   i64(1472470996199000),
		Duration:    i64(207000),
		Debug:       true,
		Annotations: []*zipkincore.Annotation{
			{Timestamp: 1472470996199000, Value: "cs", Host: frontend},
			{Timestamp: 1472470996238000, Value: "foo", Host: frontend},
			{Timestamp: 1472470996406000, Value: "cr", Host: frontend},
		},
		BinaryAnnotations: []*zipkincore.BinaryAnnotation{
			{Key: "http.path", Value: []byte("/api"), AnnotationType: zipkincore.AnnotationType_STRING, Host: frontend},
			{Key: "sa", Value: []byte{1}, AnnotationType: zipkincore.AnnotationType_BOOL, Host: backend},
		},
	}}
}

func thriftBody(t testing.TB) []byte {
	t.Helper()
	b, err := zipkinthrift.SerializeThrift(context.Background(), thriftSpans())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHTTPStatus(t *testing.T) {
	v2JSON := readTestdata(t, "v2_mesh.json")
	v2Proto := protoOf(t, v2JSON)
	v1JSON := readTestdata(t, "v1_finagle.json")
	v1Thrift := thriftBody(t)
	bomb := gz(bytes.Repeat([]byte("["), 10<<20))
	// A span with a zero trace ID is valid Zipkin v2 JSON, which the
	// pipeline rejects (validate).
	oneZeroTraceID := []byte(`[
		{"traceId": "463ac35c9f6413ad", "id": "a2fb4a1d1a96d312", "name": "kept"},
		{"traceId": "0000000000000000", "id": "0f0e0d0c0b0a0908", "name": "no trace"}]`)

	const none = "-" // no Content-Type header
	tests := []struct {
		name         string
		method       string
		path         string
		ctype        string
		encoding     string
		tenant       string
		body         []byte
		consumerErr  error
		result       *pipeline.Result
		wantStatus   int
		wantMsg      []string // in the text body
		wantProtocol string   // what reached the consumer; "" = nothing
		wantSpans    int
	}{
		{name: "v2 json", ctype: "application/json", body: v2JSON, wantStatus: 202, wantProtocol: ProtocolV2JSON, wantSpans: 4},
		{name: "v2 json with charset", ctype: "application/json; charset=utf-8", body: v2JSON, wantStatus: 202, wantProtocol: ProtocolV2JSON, wantSpans: 4},
		{name: "v2 json without Content-Type", ctype: none, body: v2JSON, wantStatus: 202, wantProtocol: ProtocolV2JSON, wantSpans: 4},
		{name: "v2 json as text/plain", ctype: "text/plain", body: v2JSON, wantStatus: 202, wantProtocol: ProtocolV2JSON, wantSpans: 4},
		{name: "v2 json as curl -d sends it", ctype: "application/x-www-form-urlencoded", body: v2JSON, wantStatus: 202, wantProtocol: ProtocolV2JSON, wantSpans: 4},
		{name: "v2 proto", ctype: "application/x-protobuf", body: v2Proto, wantStatus: 202, wantProtocol: ProtocolV2Proto, wantSpans: 4},
		{name: "v2 json gzip", ctype: "application/json", encoding: "gzip", body: gz(v2JSON), wantStatus: 202, wantProtocol: ProtocolV2JSON, wantSpans: 4},
		{name: "v2 proto gzip", ctype: "application/x-protobuf", encoding: "gzip", body: gz(v2Proto), wantStatus: 202, wantProtocol: ProtocolV2Proto, wantSpans: 4},
		{name: "v2 empty body", ctype: "application/json", wantStatus: 202},
		{name: "v2 empty list", ctype: "application/json", body: []byte("[]"), wantStatus: 202},
		{name: "v2 empty proto list", ctype: "application/x-protobuf", body: []byte{}, wantStatus: 202},
		{name: "v1 json", path: PathV1, ctype: "application/json", body: v1JSON, wantStatus: 202, wantProtocol: ProtocolV1JSON, wantSpans: 3},
		{name: "v1 json without Content-Type", path: PathV1, ctype: none, body: v1JSON, wantStatus: 202, wantProtocol: ProtocolV1JSON, wantSpans: 3},
		{name: "v1 json gzip", path: PathV1, ctype: "application/json", encoding: "gzip", body: gz(v1JSON), wantStatus: 202, wantProtocol: ProtocolV1JSON, wantSpans: 3},
		{name: "v1 thrift", path: PathV1, ctype: "application/x-thrift", body: v1Thrift, wantStatus: 202, wantProtocol: ProtocolV1Thrift, wantSpans: 1},
		{name: "tenant header", tenant: "acme", ctype: "application/json", body: v2JSON, wantStatus: 202, wantProtocol: ProtocolV2JSON, wantSpans: 4},

		{name: "GET on v2", method: http.MethodGet, wantStatus: 405},
		{name: "PUT on v1", method: http.MethodPut, path: PathV1, wantStatus: 405},
		{name: "thrift on v2", ctype: "application/x-thrift", body: v1Thrift, wantStatus: 415, wantMsg: []string{"Content-Type", "application/x-protobuf"}},
		{name: "protobuf on v1", path: PathV1, ctype: "application/x-protobuf", body: v2Proto, wantStatus: 415, wantMsg: []string{"application/x-thrift"}},
		{name: "xml", ctype: "application/xml", body: v2JSON, wantStatus: 415},
		{name: "unparsable Content-Type", ctype: "application/json; =", body: v2JSON, wantStatus: 415},
		{name: "brotli", ctype: "application/json", encoding: "br", body: v2JSON, wantStatus: 415, wantMsg: []string{"Content-Encoding"}},

		{name: "bad json", ctype: "application/json", body: []byte(`[{"traceId": `), wantStatus: 400, wantMsg: []string{"Zipkin v2 JSON", "unexpected end"}},
		{name: "json object, not a list", ctype: "application/json", body: []byte(`{"traceId": "463ac35c9f6413ad", "id": "a2fb4a1d1a96d312"}`), wantStatus: 400, wantMsg: []string{"Zipkin v2 JSON", "got object, want a list of spans"}},
		{name: "span without id", ctype: "application/json", body: []byte(`[{"traceId": "463ac35c9f6413ad", "name": "x"}]`), wantStatus: 400, wantMsg: []string{"span 0: id: missing"}},
		{name: "bad trace id", ctype: "application/json", body: []byte(`[{"traceId": "xyz", "id": "a2fb4a1d1a96d312"}]`), wantStatus: 400, wantMsg: []string{"xyz"}},
		{name: "negative duration", ctype: "application/json", body: []byte(`[{"traceId": "463ac35c9f6413ad", "id": "a2fb4a1d1a96d312", "duration": -5}]`), wantStatus: 400, wantMsg: []string{"duration"}},
		{name: "bad proto", ctype: "application/x-protobuf", body: []byte{0xff, 0xff, 0xff}, wantStatus: 400, wantMsg: []string{"protobuf ListOfSpans"}},
		{name: "proto span without trace id", ctype: "application/x-protobuf", body: mustProto(t, &zipkin_proto3.ListOfSpans{Spans: []*zipkin_proto3.Span{{Id: []byte{1, 2, 3, 4, 5, 6, 7, 8}}}}), wantStatus: 400, wantMsg: []string{"TraceID"}},
		{name: "json sent as proto", ctype: "application/x-protobuf", body: v2JSON, wantStatus: 400, wantMsg: []string{"protobuf"}},
		{name: "v1 json sent to v2", ctype: "application/json", body: v1JSON, wantStatus: 400, wantMsg: []string{"binaryAnnotations", PathV1}},
		{name: "v2 json sent to v1", path: PathV1, ctype: "application/json", body: v2JSON, wantStatus: 400, wantMsg: []string{"Zipkin v1 JSON", PathV2}},
		{name: "v2 json mentioning binaryAnnotations in a value", ctype: "application/json", body: []byte(`[{"traceId": "463ac35c9f6413ad", "id": "a2fb4a1d1a96d312", "tags": {"note": "no \"binaryAnnotations\": here", "k": "binaryAnnotations"}}]`), wantStatus: 202, wantProtocol: ProtocolV2JSON, wantSpans: 1},
		{name: "bad v1 json", path: PathV1, ctype: "application/json", body: []byte(`[{"traceId": "1", "id": "2"}]`), wantStatus: 400, wantMsg: []string{"Zipkin v1 JSON", "traceId"}},
		{name: "v1 null span", path: PathV1, ctype: "application/json", body: []byte(`[null]`), wantStatus: 400, wantMsg: []string{"span 0 is null"}},
		{name: "v1 null binary annotation", path: PathV1, ctype: "application/json", body: []byte(`[{"traceId": "4e441824ec2b6a44", "id": "4e441824ec2b6a44", "binaryAnnotations": [null]}]`), wantStatus: 400, wantMsg: []string{"binaryAnnotations[0] is null"}},
		{name: "bad thrift", path: PathV1, ctype: "application/x-thrift", body: []byte("hello"), wantStatus: 400, wantMsg: []string{"Thrift"}},
		{name: "thrift list bomb", path: PathV1, ctype: "application/x-thrift", body: thriftListBomb, wantStatus: 400, wantMsg: []string{"Thrift", "size exceeded"}},
		{name: "bad gzip", ctype: "application/json", encoding: "gzip", body: []byte("not gzip"), wantStatus: 400, wantMsg: []string{"gzip"}},
		{name: "too large", ctype: "application/json", body: make([]byte, 65<<10), wantStatus: 413, wantMsg: []string{"limit"}},
		{name: "gzip bomb", ctype: "application/json", encoding: "gzip", body: bomb, wantStatus: 413, wantMsg: []string{"decompressed"}},
		{name: "bad tenant", tenant: "../etc", ctype: "application/json", body: v2JSON, wantStatus: 400, wantMsg: []string{"X-Scope-OrgID"}},

		{name: "overloaded", ctype: "application/json", body: v2JSON, consumerErr: pipeline.ErrOverloaded, wantStatus: 429, wantProtocol: ProtocolV2JSON, wantSpans: 4},
		{name: "storage down", ctype: "application/x-protobuf", body: v2Proto, consumerErr: fmt.Errorf("%w: s3 said 500", pipeline.ErrUnavailable), wantStatus: 503, wantMsg: []string{"s3 said 500"}, wantProtocol: ProtocolV2Proto, wantSpans: 4},
		{name: "too many spans", path: PathV1, ctype: "application/json", body: v1JSON, consumerErr: &pipeline.LimitError{What: "spans in the request", Value: 3, Limit: 2}, wantStatus: 413, wantMsg: []string{"spans in the request"}, wantProtocol: ProtocolV1JSON, wantSpans: 3},
		{name: "bug in the pipeline", ctype: "application/json", body: v2JSON, consumerErr: errors.New("nil map"), wantStatus: 500, wantMsg: []string{"internal error"}, wantProtocol: ProtocolV2JSON, wantSpans: 4},
		{name: "a span rejected", ctype: "application/json", body: oneZeroTraceID, wantStatus: 400, wantMsg: []string{"stored 1 of 2 spans; rejected 1", `span "no trace"`}, wantProtocol: ProtocolV2JSON, wantSpans: 2},
		{name: "rejected and sampled out", ctype: "application/json", body: v2JSON, result: &pipeline.Result{Accepted: 1, SampledOut: 2, Rejected: 1, RejectMessage: "1 span rejected: span \"x\""}, wantStatus: 400, wantMsg: []string{"stored 1 of 4 spans (2 more sampled out); rejected 1", `span "x"`}, wantProtocol: ProtocolV2JSON, wantSpans: 4},
		{name: "all sampled out", ctype: "application/json", body: v2JSON, result: &pipeline.Result{SampledOut: 4}, wantStatus: 202, wantProtocol: ProtocolV2JSON, wantSpans: 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeConsumer{err: tc.consumerErr, result: tc.result}
			method, path := tc.method, tc.path
			if method == "" {
				method = http.MethodPost
			}
			if path == "" {
				path = PathV2
			}
			r := httptest.NewRequest(method, path, bytes.NewReader(tc.body))
			if tc.ctype != none {
				r.Header.Set("Content-Type", tc.ctype)
			}
			if tc.encoding != "" {
				r.Header.Set("Content-Encoding", tc.encoding)
			}
			if tc.tenant != "" {
				r.Header.Set("X-Scope-OrgID", tc.tenant)
			}
			w := httptest.NewRecorder()
			newMux(fc).ServeHTTP(w, r)

			body := w.Body.String()
			if w.Code != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %q", w.Code, tc.wantStatus, body)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(body, m) {
					t.Errorf("body %q does not mention %q", body, m)
				}
			}
			switch w.Code {
			case 202:
				if body != "" {
					t.Errorf("202 with a body: %q", body)
				}
			case 405:
				if allow := w.Header().Get("Allow"); !strings.Contains(allow, http.MethodPost) {
					t.Errorf("Allow = %q", allow)
				}
			default:
				if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
					t.Errorf("error answered as %q", ct)
				}
			}
			if retry := w.Header().Get("Retry-After") != ""; retry != (w.Code == 429 || w.Code == 503) {
				t.Errorf("status %d with Retry-After %q", w.Code, w.Header().Get("Retry-After"))
			}

			if tc.wantProtocol == "" {
				if len(fc.calls) != 0 {
					t.Fatalf("the consumer was called: %+v", fc.calls)
				}
				return
			}
			if len(fc.calls) != 1 {
				t.Fatalf("%d calls to the consumer, want 1", len(fc.calls))
			}
			c := fc.calls[0]
			wantTenant := tc.tenant
			if wantTenant == "" {
				wantTenant = testConfig.DefaultTenant
			}
			if c.protocol != tc.wantProtocol || c.tenant != wantTenant || c.td.SpanCount() != tc.wantSpans {
				t.Errorf("consumer got %s/%s with %d spans, want %s/%s with %d",
					c.protocol, c.tenant, c.td.SpanCount(), tc.wantProtocol, wantTenant, tc.wantSpans)
			}
		})
	}
}

func mustProto(t testing.TB, m proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want describes a span as it must reach the pipeline.
type want struct {
	service    string
	trace      string
	parent     string // "" for none
	name       string
	start, end uint64 // ns
	attrs      map[string]any
	noAttrs    []string
	events     []string // "name@unixnano"
	status     ptrace.StatusCode
}

func check(t *testing.T, got gotSpan, w want) {
	t.Helper()
	if got.service != w.service {
		t.Errorf("service.name %q, want %q", got.service, w.service)
	}
	if got.TraceID().String() != w.trace {
		t.Errorf("trace ID %s, want %s", got.TraceID(), w.trace)
	}
	parent := ""
	if !got.ParentSpanID().IsEmpty() {
		parent = got.ParentSpanID().String()
	}
	if parent != w.parent {
		t.Errorf("parent %q, want %q", parent, w.parent)
	}
	if got.Name() != w.name {
		t.Errorf("name %q, want %q", got.Name(), w.name)
	}
	if uint64(got.StartTimestamp()) != w.start || uint64(got.EndTimestamp()) != w.end {
		t.Errorf("start/end %d/%d, want %d/%d", got.StartTimestamp(), got.EndTimestamp(), w.start, w.end)
	}
	for k, v := range w.attrs {
		a, ok := got.Attributes().Get(k)
		if !ok {
			t.Errorf("attribute %s missing; have %v", k, got.Attributes().AsRaw())
			continue
		}
		if a.AsRaw() != v {
			t.Errorf("attribute %s = %#v, want %#v", k, a.AsRaw(), v)
		}
	}
	for _, k := range w.noAttrs {
		if a, ok := got.Attributes().Get(k); ok {
			t.Errorf("unexpected attribute %s = %v", k, a.AsRaw())
		}
	}
	var events []string
	for i := 0; i < got.Events().Len(); i++ {
		e := got.Events().At(i)
		events = append(events, fmt.Sprintf("%s@%d", e.Name(), e.Timestamp()))
	}
	if fmt.Sprint(events) != fmt.Sprint(w.events) {
		t.Errorf("events %q, want %q", events, w.events)
	}
	if got.Status().Code() != w.status {
		t.Errorf("status %s, want %s", got.Status().Code(), w.status)
	}
}

func post(t *testing.T, h http.Handler, path, ctype string, body []byte) {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", ctype)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// TestV2Mapping pins down what the translator makes of each Zipkin v2
// field (doc.go has the table), in JSON and protobuf alike.
func TestV2Mapping(t *testing.T) {
	body := readTestdata(t, "v2_mesh.json")
	for _, tc := range []struct {
		ctype string
		body  []byte
	}{
		{"application/json", body},
		{"application/x-protobuf", protoOf(t, body)},
	} {
		t.Run(tc.ctype, func(t *testing.T) {
			fc := &fakeConsumer{}
			post(t, newMux(fc), PathV2, tc.ctype, tc.body)
			spans := fc.spans()
			if len(spans) != 4 {
				t.Fatalf("%d spans, want 4", len(spans))
			}
			const trace128 = "463ac35c9f6413ad48485a3953bb6124"

			// A shared span stays two spans: the client half...
			check(t, find(t, spans, "a2fb4a1d1a96d312", ptrace.SpanKindClient), want{
				service: "frontend", trace: trace128, parent: "6b221d5bc9e6496c", name: "get /api",
				start: 1556604172355737000, end: 1556604172357168000,
				attrs: map[string]any{
					"network.local.address": "192.168.99.1", "net.host.port": int64(8080),
					"service.peer.name": "backend", "network.peer.address": "172.19.0.2", "net.peer.port": int64(9000),
					"http.method": "GET", "http.path": "/api", AttrDebug: true,
				},
				noAttrs: []string{AttrShared, fixupTag, "net.host.ip", "net.peer.ip", "peer.service"},
				events:  []string{"ws@1556604172355800000", "wr@1556604172357100000"},
			})
			// ...and the server half, with the same IDs.
			check(t, find(t, spans, "a2fb4a1d1a96d312", ptrace.SpanKindServer), want{
				service: "backend", trace: trace128, parent: "6b221d5bc9e6496c", name: "get /api",
				start: 1556604172356000000, end: 1556604172357000000,
				attrs: map[string]any{
					"network.local.address": "2001:db8::c001", "net.host.port": int64(9000),
					"network.peer.address": "192.168.99.1", "net.peer.port": int64(51234),
					"http.status_code": "200", AttrDebug: true, AttrShared: true,
				},
				noAttrs: []string{"service.peer.name", fixupTag},
				// kept whole, not cut at the first '|'
				events: []string{"cache miss | key=user:42 | shard=3@1556604172356500000"},
			})
			// A local span (no kind); "error" makes the status an error.
			check(t, find(t, spans, "0f0e0d0c0b0a0908", ptrace.SpanKindUnspecified), want{
				service: "backend", trace: trace128, parent: "a2fb4a1d1a96d312", name: "select users",
				start: 1556604172356100000, end: 1556604172356800000,
				attrs:   map[string]any{"db.system": "postgresql", "error": "deadline exceeded"},
				noAttrs: []string{AttrDebug, AttrShared},
				status:  ptrace.StatusCodeError,
			})
			// Envoy: a 64-bit B3 trace ID gets zero high bits; port 0 is no port.
			envoy := find(t, spans, "3691a8bd8b50c194", ptrace.SpanKindServer)
			check(t, envoy, want{
				service: "echocall1.default", trace: "00000000000000003691a8bd8b50c194", name: "echocall1.default.svc.cluster.local:80/*",
				start: 1582662767960310000, end: 1582662767963051000,
				attrs: map[string]any{
					"network.local.address": "10.1.72.4", "upstream_cluster": "inbound|80||",
					"component": "proxy", "guid:x-request-id": "e7761137-f1a0-9cae-a4b4-b7c1855d7c52", AttrShared: true,
				},
				noAttrs: []string{"net.host.port", AttrDebug},
			})
		})
	}
}

// TestV2JSONAndProtoAgree: the same spans reach the pipeline identically
// whichever v2 encoding they came in.
func TestV2JSONAndProtoAgree(t *testing.T) {
	body := readTestdata(t, "v2_mesh.json")
	fromJSON, fromProto := &fakeConsumer{}, &fakeConsumer{}
	post(t, newMux(fromJSON), PathV2, "application/json", body)
	post(t, newMux(fromProto), PathV2, "application/x-protobuf", protoOf(t, body))
	a, b := canonical(fromJSON.calls[0].td), canonical(fromProto.calls[0].td)
	if a != b {
		t.Errorf("JSON and protobuf differ:\n%s\n%s", a, b)
	}
}

// canonical prints td with attributes in key order (the translator
// copies tags from a Go map, so their order varies).
func canonical(td ptrace.Traces) string {
	var b strings.Builder
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		fmt.Fprintf(&b, "resource %v\n", rss.At(i).Resource().Attributes().AsRaw())
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			fmt.Fprintf(&b, " scope %q %q\n", sss.At(j).Scope().Name(), sss.At(j).Scope().Version())
			for k := 0; k < sss.At(j).Spans().Len(); k++ {
				s := sss.At(j).Spans().At(k)
				fmt.Fprintf(&b, "  span %s %s %s %q %s %d-%d %v %s %q\n", s.TraceID(), s.SpanID(), s.ParentSpanID(),
					s.Name(), s.Kind(), s.StartTimestamp(), s.EndTimestamp(), s.Attributes().AsRaw(),
					s.Status().Code(), s.Status().Message())
				for e := 0; e < s.Events().Len(); e++ {
					ev := s.Events().At(e)
					fmt.Fprintf(&b, "   event %q %d %v\n", ev.Name(), ev.Timestamp(), ev.Attributes().AsRaw())
				}
			}
		}
	}
	return b.String()
}

func TestV2Proto64BitTraceID(t *testing.T) {
	// zipkin.proto allows 8-byte trace IDs (Brave and Envoy send them for
	// 64-bit traces); zipkin-go's decoder alone would refuse them.
	body := mustProto(t, &zipkin_proto3.ListOfSpans{Spans: []*zipkin_proto3.Span{{
		TraceId:       []byte{0x36, 0x91, 0xa8, 0xbd, 0x8b, 0x50, 0xc1, 0x94},
		Id:            []byte{0x36, 0x91, 0xa8, 0xbd, 0x8b, 0x50, 0xc1, 0x94},
		Name:          "ingress",
		Kind:          zipkin_proto3.Span_SERVER,
		Timestamp:     1582662767960310,
		Duration:      2741,
		Debug:         true,
		LocalEndpoint: &zipkin_proto3.Endpoint{ServiceName: "istio-ingressgateway", Ipv4: []byte{10, 1, 72, 4}, Port: 8080},
	}}})
	fc := &fakeConsumer{}
	post(t, newMux(fc), PathV2, "application/x-protobuf", body)
	check(t, find(t, fc.spans(), "3691a8bd8b50c194", ptrace.SpanKindServer), want{
		service: "istio-ingressgateway", trace: "00000000000000003691a8bd8b50c194", name: "ingress",
		start: 1582662767960310000, end: 1582662767963051000,
		attrs: map[string]any{"network.local.address": "10.1.72.4", "net.host.port": int64(8080), AttrDebug: true},
	})
}

// TestV2Annotations: annotations the translator would misread as its own
// "name|{json}|dropped" event encoding are kept verbatim, and that
// encoding (what the collector's Zipkin exporter writes) still works.
func TestV2Annotations(t *testing.T) {
	body := []byte(`[{"traceId": "463ac35c9f6413ad", "id": "a2fb4a1d1a96d312", "timestamp": 1556604172355737, "annotations": [
		{"timestamp": 1556604172355738, "value": "a|b"},
		{"timestamp": 1556604172355739, "value": "a|b|c"},
		{"timestamp": 1556604172355740, "value": "exception|{\"exception.type\":\"io.EOF\"}|1"},
		{"timestamp": 1556604172355741, "value": "retry|{not json}|0"},
		{"timestamp": 1556604172355742, "value": "plain"}]}]`)
	fc := &fakeConsumer{}
	post(t, newMux(fc), PathV2, "application/json", body)
	span := fc.spans()[0]
	var got []string
	for i := 0; i < span.Events().Len(); i++ {
		e := span.Events().At(i)
		got = append(got, fmt.Sprintf("%s %v %d", e.Name(), e.Attributes().AsRaw(), e.DroppedAttributesCount()))
	}
	wantEvents := []string{
		"a|b map[] 0",
		"a|b|c map[] 0",
		"exception map[exception.type:io.EOF] 1",
		"retry|{not json}|0 map[] 0",
		"plain map[] 0",
	}
	if fmt.Sprint(got) != fmt.Sprint(wantEvents) {
		t.Errorf("events\n%q\nwant\n%q", got, wantEvents)
	}
	if _, ok := span.Attributes().Get(fixupTag); ok {
		t.Error("the internal fixup tag reached the pipeline")
	}
}

func TestV2ClientFixupTagIgnored(t *testing.T) {
	// A client sending our internal tag must not steer the fixups.
	body := []byte(`[
		{"traceId": "463ac35c9f6413ad", "id": "a2fb4a1d1a96d312", "shared": true, "kind": "SERVER"},
		{"traceId": "463ac35c9f6413ad", "id": "0f0e0d0c0b0a0908", "tags": {"tracelake.zipkin.fixup": "0"}}]`)
	fc := &fakeConsumer{}
	post(t, newMux(fc), PathV2, "application/json", body)
	spans := fc.spans()
	if _, ok := find(t, spans, "0f0e0d0c0b0a0908", ptrace.SpanKindUnspecified).Attributes().Get(AttrShared); ok {
		t.Error("a client tag made a span shared")
	}
	if v, ok := find(t, spans, "a2fb4a1d1a96d312", ptrace.SpanKindServer).Attributes().Get(AttrShared); !ok || !v.Bool() {
		t.Error("the shared span lost its mark")
	}
}

// TestV1JSON uses Zipkin's own JSON_V1 encoding of a Finagle client span
// (zipkin2 SpanBytesEncoderTest), the server's half of it, and a 64-bit
// debug trace.
func TestV1JSON(t *testing.T) {
	fc := &fakeConsumer{}
	post(t, newMux(fc), PathV1, "application/json", readTestdata(t, "v1_finagle.json"))
	spans := fc.spans()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want 3", len(spans))
	}
	const trace = "7180c278b62e8f6a216a2aea45d08fc9"
	check(t, find(t, spans, "5b4185666d50f68b", ptrace.SpanKindClient), want{
		service: "frontend", trace: trace, parent: "6b221d5bc9e6496c", name: "get",
		start: 1472470996199000000, end: 1472470996406000000,
		// "sa": true arrives as the string "true"; its endpoint is lost.
		attrs:   map[string]any{"http.path": "/api", "clnt/finagle.version": "6.45.0", "sa": "true"},
		noAttrs: []string{AttrDebug},
		// cs and cr set the kind and times; other annotations are events.
		events: []string{"foo@1472470996238000000", "bar@1472470996403000000"},
	})
	server := find(t, spans, "5b4185666d50f68b", ptrace.SpanKindServer)
	check(t, server, want{
		service: "backend", trace: trace, parent: "6b221d5bc9e6496c", name: "get",
		// no span timestamp: sr and ss give start and end
		start: 1472470996250000000, end: 1472470996350000000,
		attrs: map[string]any{"srv/finagle.version": "6.45.0", "ca": "true"},
	})
	// v1 endpoints become resource attributes, the port as a string.
	if got := server.resource.AsRaw(); fmt.Sprint(got) != fmt.Sprint(map[string]any{"service.name": "backend", "ipv4": "192.168.99.101", "port": "9000"}) {
		t.Errorf("server resource %v", got)
	}
	check(t, find(t, spans, "6b221d5bc9e6496c", ptrace.SpanKindServer), want{
		service: "frontend", trace: "0000000000000000216a2aea45d08fc9", name: "get /api",
		start: 1472470996190000000, end: 1472470996410000000,
		attrs: map[string]any{"http.status_code": "200", AttrDebug: true},
	})
}

// thriftListBomb is one span whose annotation list claims 10^8 elements.
var thriftListBomb = []byte{
	0x0c, 0, 0, 0, 1, // list<struct>, 1 span
	0x0f, 0, 6, // field 6 (annotations): list
	0x0c, 0x05, 0xf5, 0xe1, 0x00, // of struct, 100,000,000 elements
}

// TestThriftListBomb: the translator's own Thrift reader would allocate
// 800 MB for the 13 bytes above.
func TestThriftListBomb(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := decodeV1Thrift(thriftListBomb); err == nil {
		t.Fatal("no error")
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("decoding 13 bytes allocated %d bytes", alloc)
	}
}

func TestV1Thrift(t *testing.T) {
	fc := &fakeConsumer{}
	post(t, newMux(fc), PathV1, "application/x-thrift", thriftBody(t))
	spans := fc.spans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	check(t, spans[0], want{
		service: "frontend", trace: "7180c278b62e8f6a216a2aea45d08fc9", parent: "6b221d5bc9e6496c", name: "get",
		start: 1472470996199000000, end: 1472470996406000000,
		attrs:  map[string]any{"http.path": "/api", "sa": true, AttrDebug: true},
		events: []string{"foo@1472470996238000000"},
	})
	if k := spans[0].Kind(); k != ptrace.SpanKindClient {
		t.Errorf("kind %s", k)
	}
}

// TestEdgeMappings pins down the rarer rows of doc.go's table.
func TestEdgeMappings(t *testing.T) {
	t.Run("v2 without timestamp", func(t *testing.T) {
		fc := &fakeConsumer{}
		post(t, newMux(fc), PathV2, "application/json", []byte(`[{"traceId": "3691a8bd8b50c194", "id": "3691a8bd8b50c194", "duration": 7,
			"localEndpoint": {"serviceName": "envoy", "ipv4": "10.1.72.4", "ipv6": "2001:db8::1"}}]`))
		check(t, fc.spans()[0], want{
			service: "envoy", trace: "00000000000000003691a8bd8b50c194", start: 0, end: 7000,
			attrs: map[string]any{"otel.zipkin.absentField.startTime": true, "network.local.address": "2001:db8::1"},
		})
	})
	t.Run("v1 without any timestamp, local component", func(t *testing.T) {
		fc := &fakeConsumer{}
		before := uint64(time.Now().UnixNano())
		post(t, newMux(fc), PathV1, "application/json", []byte(`[{"traceId": "4e441824ec2b6a44", "id": "4e441824ec2b6a44", "name": "get",
			"binaryAnnotations": [{"key": "lc", "value": "cache", "endpoint": {"serviceName": "zipkin-server", "ipv4": "192.168.99.1", "port": 9411}}]}]`))
		after := uint64(time.Now().UnixNano())
		s := fc.spans()[0]
		if st := uint64(s.StartTimestamp()); st < before || st > after || s.EndTimestamp() != s.StartTimestamp() {
			t.Errorf("start/end %d/%d, want the time of receipt", s.StartTimestamp(), s.EndTimestamp())
		}
		check(t, s, want{
			// no cs/sr annotation: the service comes from the binary annotation
			service: "zipkin-server", trace: "00000000000000004e441824ec2b6a44", name: "get",
			start: uint64(s.StartTimestamp()), end: uint64(s.EndTimestamp()),
			attrs: map[string]any{"component": "cache", "otel.zipkin.absentField.startTime": true},
		})
	})
}

// TestConcurrentRequests hammers the handler (its body buffers are
// pooled) and checks each request's spans reach the pipeline intact.
func TestConcurrentRequests(t *testing.T) {
	fc := &fakeConsumer{}
	mux := newMux(fc)
	const workers, perWorker = 8, 25
	type request struct {
		path, ctype string
		body        []byte
	}
	reqs := make([]request, workers*perWorker+1)
	for n := 1; n < len(reqs); n++ {
		// The same JSON is valid Zipkin v1 and v2.
		js := []byte(fmt.Sprintf(`[{"traceId": "%016x", "id": "%016x", "name": "n%d", "annotations": [{"timestamp": 1, "value": "a|b|%d"}]}]`, n, n, n, n))
		switch n % 3 {
		case 0:
			reqs[n] = request{PathV2, "application/json", gz(js)}
		case 1:
			reqs[n] = request{PathV2, "application/x-protobuf", gz(protoOf(t, js))}
		case 2:
			reqs[n] = request{PathV1, "application/json", gz(js)}
		}
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				n := w*perWorker + i + 1
				r := httptest.NewRequest(http.MethodPost, reqs[n].path, bytes.NewReader(reqs[n].body))
				r.Header.Set("Content-Type", reqs[n].ctype)
				r.Header.Set("Content-Encoding", "gzip")
				r.Header.Set("X-Scope-OrgID", fmt.Sprintf("t%d", n))
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, r)
				if rec.Code != http.StatusAccepted {
					t.Errorf("request %d: %d %s", n, rec.Code, rec.Body)
				}
			}
		}()
	}
	wg.Wait()
	if len(fc.calls) != workers*perWorker {
		t.Fatalf("%d calls, want %d", len(fc.calls), workers*perWorker)
	}
	for _, c := range fc.calls {
		var n int
		fmt.Sscanf(c.tenant, "t%d", &n)
		s := c.td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
		want := fmt.Sprintf("%016x", n)
		if s.SpanID().String() != want || s.Name() != fmt.Sprintf("n%d", n) || s.Events().At(0).Name() != fmt.Sprintf("a|b|%d", n) {
			t.Errorf("tenant %s got span %s %q %q", c.tenant, s.SpanID(), s.Name(), s.Events().At(0).Name())
		}
	}
}
