package main

// End-to-end tests of every ingest protocol of the Jaeger world with the
// real clients users run: zipkin-go's HTTP reporter (JSON and proto), the
// OpenTelemetry SDK's Zipkin exporter, Jaeger's Thrift over HTTP and UDP
// and gRPC clients built from jaeger-idl, Jaeger remote sampling, and a
// real OpenTelemetry Collector forwarding with its otlp_grpc, otlp_http
// and zipkin exporters. Each reads the spans back through the query APIs
// and checks IDs, parentage, service names, attributes and timing.

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	model "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	tjaeger "github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	zipkin "github.com/openzipkin/zipkin-go"
	zmodel "github.com/openzipkin/zipkin-go/model"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	zipkinreporter "github.com/openzipkin/zipkin-go/reporter"
	zipkinhttp "github.com/openzipkin/zipkin-go/reporter/http"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	//lint:ignore SA1019 deprecated, but the issue asks for the real clients users still run, and this is one
	otelzipkin "go.opentelemetry.io/otel/exporters/zipkin"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// fullTrace is a trace as Jaeger's HTTP API returns it.
type fullTrace struct {
	TraceID string `json:"traceID"`
	Spans   []struct {
		TraceID       string `json:"traceID"`
		SpanID        string `json:"spanID"`
		OperationName string `json:"operationName"`
		References    []struct {
			RefType string `json:"refType"`
			SpanID  string `json:"spanID"`
		} `json:"references"`
		StartTime int64 `json:"startTime"` // µs
		Duration  int64 `json:"duration"`  // µs
		Tags      []struct {
			Key   string `json:"key"`
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"tags"`
		Logs []struct {
			Timestamp int64 `json:"timestamp"`
			Fields    []struct {
				Key   string `json:"key"`
				Value any    `json:"value"`
			} `json:"fields"`
		} `json:"logs"`
		ProcessID string `json:"processID"`
	} `json:"spans"`
	Processes map[string]struct {
		ServiceName string `json:"serviceName"`
	} `json:"processes"`
}

// want is what one span must look like after the round trip.
type want struct {
	spanID, parentID string // hex; parentID "" for a root
	service, name    string
	start            time.Time // compared at µs precision
	duration         time.Duration
	tags             map[string]string // string forms
	logs             int
}

func padID(id string) string { return strings.Repeat("0", 32-len(id)) + strings.ToLower(id) }

// getTrace fetches a trace through Jaeger's API; it returns nil on 404.
func getTrace(t *testing.T, queryURL, traceID string) *fullTrace {
	t.Helper()
	var out struct{ Data []fullTrace }
	switch code := getJSON(t, queryURL+"/api/traces/"+traceID, nil, &out); {
	case code == 404:
		return nil
	case code != 200 || len(out.Data) != 1:
		t.Fatalf("GET /api/traces/%s = %d (%d traces)", traceID, code, len(out.Data))
	}
	return &out.Data[0]
}

// waitTrace polls for a trace with n spans, for clients that send in the
// background (reporters, UDP, a Collector) and so cannot tell us when the
// spans were acknowledged.
func waitTrace(t *testing.T, queryURL, traceID string, n int) *fullTrace {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if tr := getTrace(t, queryURL, traceID); tr != nil && len(tr.Spans) >= n {
			return tr
		}
		if time.Now().After(deadline) {
			t.Fatalf("trace %s did not arrive with %d spans within 30s", traceID, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tagString(typ string, v any) string {
	switch x := v.(type) {
	case float64:
		if typ == "int64" {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// checkTraceMatches finds each wanted span (by span ID and service, since
// Zipkin's shared spans have two halves with one ID) and compares it.
func checkTraceMatches(t *testing.T, tr *fullTrace, traceID string, wants []want) {
	t.Helper()
	if padID(tr.TraceID) != padID(traceID) {
		t.Fatalf("trace ID %s, want %s", tr.TraceID, traceID)
	}
	if len(tr.Spans) != len(wants) {
		t.Fatalf("trace %s has %d spans, want %d", traceID, len(tr.Spans), len(wants))
	}
	for _, w := range wants {
		found := false
		for _, s := range tr.Spans {
			if padID(s.SpanID) != padID(w.spanID) || tr.Processes[s.ProcessID].ServiceName != w.service {
				continue
			}
			found = true
			if s.OperationName != w.name {
				t.Errorf("span %s: name %q, want %q", w.spanID, s.OperationName, w.name)
			}
			parent := ""
			for _, r := range s.References {
				if r.RefType == "CHILD_OF" {
					parent = r.SpanID
					break
				}
			}
			if (w.parentID == "") != (parent == "") || (w.parentID != "" && padID(parent) != padID(w.parentID)) {
				t.Errorf("span %s (%s): parent %q, want %q", w.spanID, w.service, parent, w.parentID)
			}
			if s.StartTime != w.start.UnixMicro() || s.Duration != w.duration.Microseconds() {
				t.Errorf("span %s (%s): start %d µs, duration %d µs; want %d, %d", w.spanID, w.service, s.StartTime, s.Duration, w.start.UnixMicro(), w.duration.Microseconds())
			}
			tags := map[string]string{}
			for _, tag := range s.Tags {
				tags[tag.Key] = tagString(tag.Type, tag.Value)
			}
			for k, v := range w.tags {
				if tags[k] != v {
					t.Errorf("span %s (%s): tag %s = %q, want %q (tags %v)", w.spanID, w.service, k, tags[k], v, tags)
				}
			}
			if len(s.Logs) != w.logs {
				t.Errorf("span %s (%s): %d logs, want %d", w.spanID, w.service, len(s.Logs), w.logs)
			}
		}
		if !found {
			t.Errorf("no span %s of service %s in trace %s", w.spanID, w.service, traceID)
		}
	}
}

// recording is a zipkin-go reporter that also remembers the spans it
// sent, so the test knows their exact timestamps.
type recording struct {
	zipkinreporter.Reporter
	spans []zmodel.SpanModel
}

func (r *recording) Send(s zmodel.SpanModel) {
	r.spans = append(r.spans, s)
	r.Reporter.Send(s)
}

func TestZipkinGoReporter(t *testing.T) {
	p := start(t, "all-in-one", localStorage(t))
	for _, tc := range []struct {
		name       string
		serializer zipkinreporter.SpanSerializer
		id128      bool
	}{
		{"json/128-bit", zipkinreporter.JSONSerializer{}, true},
		{"proto/128-bit", zipkin_proto3.SpanSerializer{}, true},
		{"json/64-bit", zipkinreporter.JSONSerializer{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := &recording{Reporter: zipkinhttp.NewReporter(p.zipkinURL+"/api/v2/spans",
				zipkinhttp.Serializer(tc.serializer), zipkinhttp.BatchInterval(20*time.Millisecond),
				zipkinhttp.Logger(log.New(&logs, "", 0)))}
			frontEP, _ := zipkin.NewEndpoint("frontend", "10.0.0.1:8080")
			backEP, _ := zipkin.NewEndpoint("backend-ü", "10.0.0.2:9000")
			front, err := zipkin.NewTracer(rec, zipkin.WithLocalEndpoint(frontEP), zipkin.WithTraceID128Bit(tc.id128))
			if err != nil {
				t.Fatal(err)
			}
			back, err := zipkin.NewTracer(rec, zipkin.WithLocalEndpoint(backEP), zipkin.WithSharedSpans(true))
			if err != nil {
				t.Fatal(err)
			}
			client := front.StartSpan("get /orders", zipkin.Kind(zmodel.Client), zipkin.RemoteEndpoint(backEP))
			client.Tag("http.method", "GET")
			client.Annotate(time.Now(), "wire.send")
			// The server half shares the client's span ID (B3 propagation).
			server := back.StartSpan("get /orders", zipkin.Kind(zmodel.Server), zipkin.Parent(client.Context()))
			server.Tag("http.status_code", "200")
			db := back.StartSpan("select", zipkin.Parent(server.Context()))
			db.Tag("db.statement", "SELECT 1")
			time.Sleep(2 * time.Millisecond)
			db.Finish()
			server.Finish()
			client.Finish()
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			if logs.Len() > 0 {
				t.Fatalf("the reporter logged errors: %s", logs.String())
			}
			if client.Context().ID != server.Context().ID {
				t.Fatal("zipkin-go did not share the span ID")
			}
			traceID := client.Context().TraceID.String()
			byName := map[string]zmodel.SpanModel{}
			for _, s := range rec.spans {
				byName[s.LocalEndpoint.ServiceName+"/"+s.Name] = s
			}
			c, s, d := byName["frontend/get /orders"], byName["backend-ü/get /orders"], byName["backend-ü/select"]
			tr := waitTrace(t, p.queryURL, traceID, 3)
			// Zipkin carries microseconds. zipkin-go rounds timestamps to
			// them; its JSON encoding rounds durations, its proto encoding
			// truncates them.
			r := func(t time.Time) time.Time { return t.Round(time.Microsecond) }
			rd := func(d time.Duration) time.Duration { return d.Round(time.Microsecond) }
			if _, isProto := tc.serializer.(zipkin_proto3.SpanSerializer); isProto {
				rd = func(d time.Duration) time.Duration { return d.Truncate(time.Microsecond) }
			}
			checkTraceMatches(t, tr, traceID, []want{
				{spanID: c.ID.String(), service: "frontend", name: "get /orders", start: r(c.Timestamp), duration: rd(c.Duration), tags: map[string]string{"http.method": "GET", "span.kind": "client"}, logs: 1},
				{spanID: s.ID.String(), service: "backend-ü", name: "get /orders", start: r(s.Timestamp), duration: rd(s.Duration), tags: map[string]string{"http.status_code": "200", "span.kind": "server"}},
				{spanID: d.ID.String(), parentID: s.ID.String(), service: "backend-ü", name: "select", start: r(d.Timestamp), duration: rd(d.Duration), tags: map[string]string{"db.statement": "SELECT 1"}},
			})

			// Zipkin's own API gives the Zipkin view back: the shared
			// server half, the endpoints.
			var zspans []zmodel.SpanModel
			if code := getJSON(t, p.zipkinURL+"/api/v2/trace/"+traceID, nil, &zspans); code != 200 || len(zspans) != 3 {
				t.Fatalf("Zipkin GET /api/v2/trace/%s = %d with %d spans", traceID, code, len(zspans))
			}
			shared := 0
			for _, zs := range zspans {
				if zs.Shared {
					shared++
					if zs.Kind != zmodel.Server || zs.LocalEndpoint.ServiceName != "backend-ü" {
						t.Errorf("shared half: %+v", zs)
					}
				}
				if zs.Kind == zmodel.Client && (zs.RemoteEndpoint == nil || zs.RemoteEndpoint.ServiceName != "backend-ü" || zs.RemoteEndpoint.Port != 9000) {
					t.Errorf("client remote endpoint %+v", zs.RemoteEndpoint)
				}
			}
			if shared != 1 {
				t.Errorf("%d shared spans, want 1", shared)
			}
			var svcs []string
			getJSON(t, p.zipkinURL+"/api/v2/services", nil, &svcs)
			if !strings.Contains(strings.Join(svcs, ","), "backend-ü") {
				t.Errorf("Zipkin /api/v2/services = %v", svcs)
			}
			var remote []string
			getJSON(t, p.zipkinURL+"/api/v2/remoteServices?serviceName=frontend", nil, &remote)
			if len(remote) != 1 || remote[0] != "backend-ü" {
				t.Errorf("Zipkin /api/v2/remoteServices = %v", remote)
			}
			var found [][]zmodel.SpanModel
			getJSON(t, p.zipkinURL+"/api/v2/traces?serviceName=backend-%C3%BC&annotationQuery=db.statement&limit=100", nil, &found)
			hit := false
			for _, tr := range found {
				hit = hit || (len(tr) > 0 && tr[0].TraceID == client.Context().TraceID)
			}
			if !hit {
				t.Errorf("Zipkin /api/v2/traces with an annotationQuery did not find trace %s among %d", traceID, len(found))
			}
		})
	}
}

// TestOTelZipkinExporter: the OpenTelemetry SDK's Zipkin exporter. It
// reports export errors, so the trace must be readable at once.
func TestOTelZipkinExporter(t *testing.T) {
	p := start(t, "all-in-one", localStorage(t))
	exp, err := otelzipkin.New(p.zipkinURL + "/api/v2/spans")
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "otel-zipkin"))))
	tracer := tp.Tracer("e2e")
	ctx, root := tracer.Start(context.Background(), "GET /cart", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.Int("http.response.status_code", 200)))
	_, child := tracer.Start(ctx, "redis GET", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.String("db.system", "redis")))
	child.AddEvent("cache miss")
	time.Sleep(time.Millisecond)
	child.End()
	root.End()
	if err := tp.ForceFlush(context.Background()); err != nil {
		t.Fatalf("export: %v", err)
	}
	defer tp.Shutdown(context.Background())
	traceID := root.SpanContext().TraceID().String()
	tr := getTrace(t, p.queryURL, traceID)
	if tr == nil {
		t.Fatalf("trace %s not found right after the exporter returned", traceID)
	}
	rs, cs := root.(sdktrace.ReadOnlySpan), child.(sdktrace.ReadOnlySpan)
	// What the exporter itself does: zipkin-go's encoding lower-cases
	// names and rounds times to µs, and the exporter maps the newer
	// http.response.status_code to Zipkin's http.status_code.
	checkTraceMatches(t, tr, traceID, []want{
		{spanID: rs.SpanContext().SpanID().String(), service: "otel-zipkin", name: "get /cart", start: zipkinStart(rs), duration: zipkinDuration(rs), tags: map[string]string{"http.status_code": "200", "span.kind": "server"}},
		{spanID: cs.SpanContext().SpanID().String(), parentID: rs.SpanContext().SpanID().String(), service: "otel-zipkin", name: "redis get", start: zipkinStart(cs), duration: zipkinDuration(cs), tags: map[string]string{"db.system": "redis", "span.kind": "client"}, logs: 1},
	})
}

// zipkinStart and zipkinDuration are a span's times as zipkin-go's
// encoding sends them: rounded to microseconds.
func zipkinStart(s sdktrace.ReadOnlySpan) time.Time { return s.StartTime().Round(time.Microsecond) }
func zipkinDuration(s sdktrace.ReadOnlySpan) time.Duration {
	return s.EndTime().Sub(s.StartTime()).Round(time.Microsecond)
}

// jaegerFixture is a Thrift batch as a Jaeger client builds one: a process,
// a root span and a child with tags of every type and a log.
func jaegerFixture(service string) (*tjaeger.Batch, string, []want) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	high, low, rootID, childID := int64(rng.Uint64()>>1), int64(rng.Uint64()>>1), int64(rng.Uint64()>>1), int64(rng.Uint64()>>1)
	start := time.Now().Add(-time.Second).Truncate(time.Microsecond)
	str := func(s string) *string { return &s }
	long := func(v int64) *int64 { return &v }
	b := &tjaeger.Batch{
		Process: &tjaeger.Process{ServiceName: service, Tags: []*tjaeger.Tag{{Key: "hostname", VType: tjaeger.TagType_STRING, VStr: str("web-1")}}},
		Spans: []*tjaeger.Span{
			{TraceIdLow: low, TraceIdHigh: high, SpanId: rootID, OperationName: "HTTP GET /items", Flags: 1,
				StartTime: start.UnixMicro(), Duration: 5000,
				Tags: []*tjaeger.Tag{{Key: "span.kind", VType: tjaeger.TagType_STRING, VStr: str("server")}, {Key: "http.status_code", VType: tjaeger.TagType_LONG, VLong: long(200)}}},
			{TraceIdLow: low, TraceIdHigh: high, SpanId: childID, ParentSpanId: rootID, OperationName: "SQL SELECT", Flags: 1,
				StartTime: start.Add(time.Millisecond).UnixMicro(), Duration: 2500,
				References: []*tjaeger.SpanRef{{RefType: tjaeger.SpanRefType_CHILD_OF, TraceIdLow: low, TraceIdHigh: high, SpanId: rootID}},
				Tags:       []*tjaeger.Tag{{Key: "db.rows", VType: tjaeger.TagType_LONG, VLong: long(3)}, {Key: "cached", VType: tjaeger.TagType_BOOL, VBool: func() *bool { v := false; return &v }()}},
				Logs:       []*tjaeger.Log{{Timestamp: start.Add(2 * time.Millisecond).UnixMicro(), Fields: []*tjaeger.Tag{{Key: "event", VType: tjaeger.TagType_STRING, VStr: str("rows fetched")}}}}},
		},
	}
	traceID := fmt.Sprintf("%016x%016x", uint64(high), uint64(low))
	return b, traceID, []want{
		{spanID: fmt.Sprintf("%016x", uint64(rootID)), service: service, name: "HTTP GET /items", start: start, duration: 5 * time.Millisecond, tags: map[string]string{"http.status_code": "200", "span.kind": "server"}},
		{spanID: fmt.Sprintf("%016x", uint64(childID)), parentID: fmt.Sprintf("%016x", uint64(rootID)), service: service, name: "SQL SELECT", start: start.Add(time.Millisecond), duration: 2500 * time.Microsecond, tags: map[string]string{"db.rows": "3", "cached": "false"}, logs: 1},
	}
}

func TestJaegerClients(t *testing.T) {
	p := start(t, "all-in-one", localStorage(t))
	var httpTraceID string

	t.Run("thrift-http", func(t *testing.T) {
		batch, traceID, wants := jaegerFixture("legacy-http")
		httpTraceID = traceID
		body, err := thrift.NewTSerializer().Write(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(p.jaegerHTTPURL+"/api/traces", "application/x-thrift", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST /api/traces = %d, want 202", resp.StatusCode)
		}
		tr := getTrace(t, p.queryURL, traceID) // acknowledged: readable at once
		if tr == nil {
			t.Fatal("trace not found right after 202")
		}
		checkTraceMatches(t, tr, traceID, wants)
	})

	for _, udp := range []struct {
		name    string
		addr    string
		factory thrift.TProtocolFactory
	}{
		{"agent-compact", p.agentCompactAddr, thrift.NewTCompactProtocolFactoryConf(nil)},
		{"agent-binary", p.agentBinaryAddr, thrift.NewTBinaryProtocolFactoryConf(nil)},
	} {
		t.Run(udp.name, func(t *testing.T) {
			batch, traceID, wants := jaegerFixture("legacy-" + udp.name)
			buf := thrift.NewTMemoryBufferLen(65000)
			if err := agent.NewAgentClientFactory(buf, udp.factory).EmitBatch(context.Background(), batch); err != nil {
				t.Fatal(err)
			}
			conn, err := net.Dial("udp", udp.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write([]byte("garbage first: must be counted, not fatal")); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Write(buf.Bytes()); err != nil {
				t.Fatal(err)
			}
			checkTraceMatches(t, waitTrace(t, p.queryURL, traceID, 2), traceID, wants)
		})
	}
	metrics := scrape(t, p.adminURL)
	if !strings.Contains(metrics, `tracelake_jaeger_agent_packets_total{protocol="jaeger_thrift_compact",result="malformed"} 1`) {
		t.Errorf("malformed datagram not counted:\n%s", grepLines(metrics, "agent_packets"))
	}

	t.Run("grpc", func(t *testing.T) {
		tbatch, traceID, wants := jaegerFixture("legacy-grpc")
		conn, err := grpc.NewClient(p.jaegerGRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		batch := model.Batch{Process: &model.Process{ServiceName: tbatch.Process.ServiceName, Tags: []model.KeyValue{model.String("hostname", "web-1")}}}
		for _, s := range tbatch.Spans {
			id := model.NewTraceID(uint64(s.TraceIdHigh), uint64(s.TraceIdLow))
			span := &model.Span{TraceID: id, SpanID: model.NewSpanID(uint64(s.SpanId)), OperationName: s.OperationName,
				StartTime: time.UnixMicro(s.StartTime).UTC(), Duration: time.Duration(s.Duration) * time.Microsecond, Flags: 1}
			if s.ParentSpanId != 0 {
				span.References = []model.SpanRef{model.NewChildOfRef(id, model.NewSpanID(uint64(s.ParentSpanId)))}
			}
			for _, tag := range s.Tags {
				switch tag.VType {
				case tjaeger.TagType_STRING:
					span.Tags = append(span.Tags, model.String(tag.Key, tag.GetVStr()))
				case tjaeger.TagType_LONG:
					span.Tags = append(span.Tags, model.Int64(tag.Key, tag.GetVLong()))
				case tjaeger.TagType_BOOL:
					span.Tags = append(span.Tags, model.Bool(tag.Key, tag.GetVBool()))
				}
			}
			for _, l := range s.Logs {
				span.Logs = append(span.Logs, model.Log{Timestamp: time.UnixMicro(l.Timestamp).UTC(), Fields: []model.KeyValue{model.String("event", l.Fields[0].GetVStr())}})
			}
			batch.Spans = append(batch.Spans, span)
		}
		if _, err := api_v2.NewCollectorServiceClient(conn).PostSpans(context.Background(), &api_v2.PostSpansRequest{Batch: batch}); err != nil {
			t.Fatal(err)
		}
		tr := getTrace(t, p.queryURL, traceID)
		if tr == nil {
			t.Fatal("trace not found right after PostSpans returned")
		}
		checkTraceMatches(t, tr, traceID, wants)
	})

	// The protocol of origin is kept, as a scope attribute (api_v3 shows
	// OTLP as stored).
	var one struct {
		Result struct {
			ResourceSpans []struct {
				ScopeSpans []struct {
					Scope struct {
						Attributes []struct {
							Key   string
							Value struct{ StringValue string }
						}
					}
				}
			}
		}
	}
	if code := getJSON(t, p.queryURL+"/api/v3/traces/"+httpTraceID, nil, &one); code != 200 || len(one.Result.ResourceSpans) == 0 {
		t.Fatalf("api_v3 trace %s = %d", httpTraceID, code)
	}
	origin := ""
	for _, a := range one.Result.ResourceSpans[0].ScopeSpans[0].Scope.Attributes {
		if a.Key == "tracelake.ingest.protocol" {
			origin = a.Value.StringValue
		}
	}
	if origin != "jaeger_thrift_http" {
		t.Errorf("scope attribute tracelake.ingest.protocol = %q, want jaeger_thrift_http", origin)
	}
	var v3 struct {
		Services []string `json:"services"`
	}
	getJSON(t, p.queryURL+"/api/v3/services", nil, &v3)
	for _, svc := range []string{"legacy-http", "legacy-agent-compact", "legacy-agent-binary", "legacy-grpc"} {
		if !strings.Contains(strings.Join(v3.Services, ","), svc) {
			t.Errorf("service %s missing from %v", svc, v3.Services)
		}
	}
}

func TestRemoteSampling(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "strategies.json")
	write := func(rate float64) {
		body := fmt.Sprintf(`{"default_strategy": {"type": "probabilistic", "param": 0.5},
		  "service_strategies": [{"service": "checkout", "type": "probabilistic", "param": %v,
		    "operation_strategies": [{"operation": "/health", "type": "probabilistic", "param": 0}]}]}`, rate)
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil { // as editors and ConfigMaps do
			t.Fatal(err)
		}
	}
	write(0.8)
	p := start(t, "ingest", localStorage(t), "--ingest.sampling.strategies-file", path)
	rate := func() float64 {
		var resp struct {
			StrategyType          string
			ProbabilisticSampling struct{ SamplingRate float64 }
		}
		if code := getJSON(t, p.samplingURL+"/sampling?service=checkout", nil, &resp); code != 200 || resp.StrategyType != "PROBABILISTIC" {
			t.Fatalf("GET /sampling = %d, %+v", code, resp)
		}
		return resp.ProbabilisticSampling.SamplingRate
	}
	if got := rate(); got != 0.8 {
		t.Fatalf("sampling rate %v, want 0.8", got)
	}
	conn, err := grpc.NewClient(p.jaegerGRPCAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gr, err := api_v2.NewSamplingManagerClient(conn).GetSamplingStrategy(context.Background(), &api_v2.SamplingStrategyParameters{ServiceName: "checkout"})
	if err != nil || gr.ProbabilisticSampling.SamplingRate != 0.8 || len(gr.OperationSampling.PerOperationStrategies) != 1 {
		t.Fatalf("gRPC GetSamplingStrategy = %+v, %v", gr, err)
	}
	var legacy struct{ StrategyType int }
	getJSON(t, p.samplingURL+"/?service=other", nil, &legacy) // old SDKs: numeric enum
	if code := getJSON(t, p.samplingURL+"/sampling", nil, nil); code != 400 {
		t.Errorf("no service parameter = %d, want 400", code)
	}

	write(0.25)
	deadline := time.Now().Add(20 * time.Second)
	for rate() != 0.25 {
		if time.Now().After(deadline) {
			t.Fatal("the changed strategies file was not picked up within 20s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// collectorBinary finds the Collector `make tools` builds.
func collectorBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("TRACELAKE_OTELCOL_BIN"); bin != "" {
		return bin
	}
	bin, err := filepath.Abs("../../.tools/bin/otelcol-tracelake-test")
	if err == nil {
		if _, err = os.Stat(bin); err == nil {
			return bin
		}
	}
	if os.Getenv("TRACELAKE_REQUIRE_OTELCOL") == "1" {
		t.Fatalf("the OpenTelemetry Collector test binary is missing (make tools builds it): %v", err)
	}
	t.Skipf("no OpenTelemetry Collector binary (run make tools): %v", err)
	return ""
}

// TestOTelCollector forwards spans through a real Collector to tracelake
// with each of its exporters that speak tracelake's protocols.
func TestOTelCollector(t *testing.T) {
	bin := collectorBinary(t)
	p := start(t, "all-in-one", localStorage(t))
	recvGRPC, recvHTTP, recvZipkin := freeAddr(t), freeAddr(t), freeAddr(t)
	config := fmt.Sprintf(`
receivers:
  otlp/to-grpc:
    protocols: {grpc: {endpoint: %s}}
  otlp/to-http:
    protocols: {grpc: {endpoint: %s}}
  otlp/to-zipkin:
    protocols: {grpc: {endpoint: %s}}
processors:
  batch:
    timeout: 50ms
exporters:
  otlp_grpc:
    endpoint: %s
    tls: {insecure: true}
  otlp_http:
    endpoint: %s
  zipkin:
    endpoint: %s/api/v2/spans
service:
  telemetry:
    metrics: {level: none}
  pipelines:
    traces/grpc: {receivers: [otlp/to-grpc], processors: [batch], exporters: [otlp_grpc]}
    traces/http: {receivers: [otlp/to-http], processors: [batch], exporters: [otlp_http]}
    traces/zipkin: {receivers: [otlp/to-zipkin], processors: [batch], exporters: [zipkin]}
`, recvGRPC, recvHTTP, recvZipkin, p.grpcAddr, p.httpURL, p.zipkinURL)
	path := filepath.Join(t.TempDir(), "otelcol.yaml")
	if err := os.WriteFile(path, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	col := exec.Command(bin, "--config", path)
	var colLogs syncBuffer
	col.Stdout, col.Stderr = &colLogs, &colLogs
	if err := col.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		col.Process.Signal(syscall.SIGTERM)
		col.Wait()
		if t.Failed() {
			colLogs.mu.Lock()
			t.Logf("collector logs:\n%s", colLogs.String())
			colLogs.mu.Unlock()
		}
	}()
	for _, addr := range []string{recvGRPC, recvHTTP, recvZipkin} {
		deadline := time.Now().Add(30 * time.Second)
		for {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the collector never listened on %s", addr)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	for _, route := range []struct{ via, addr string }{{"otlp_grpc", recvGRPC}, {"otlp_http", recvHTTP}, {"zipkin", recvZipkin}} {
		t.Run(route.via, func(t *testing.T) {
			service := "via-collector-" + route.via
			exp, err := otlptracegrpc.New(context.Background(), otlptracegrpc.WithEndpoint(route.addr), otlptracegrpc.WithInsecure())
			if err != nil {
				t.Fatal(err)
			}
			tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp),
				sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", service))))
			defer tp.Shutdown(context.Background())
			tracer := tp.Tracer("e2e")
			ctx, root := tracer.Start(context.Background(), "POST /pay", trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("payment.method", "card")))
			_, child := tracer.Start(ctx, "charge", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attribute.Int64("amount", 4200)))
			time.Sleep(time.Millisecond)
			child.End()
			root.End()
			if err := tp.ForceFlush(context.Background()); err != nil {
				t.Fatal(err)
			}
			rs, cs := root.(sdktrace.ReadOnlySpan), child.(sdktrace.ReadOnlySpan)
			traceID := rs.SpanContext().TraceID().String()
			// OTLP keeps nanoseconds (Jaeger's API shows µs, truncated);
			// the zipkin exporter rounds to µs and lower-cases names, as
			// zipkin-go's encoding does.
			startOf, durOf, name := func(s sdktrace.ReadOnlySpan) time.Time { return s.StartTime() },
				func(s sdktrace.ReadOnlySpan) time.Duration {
					return time.Duration(s.EndTime().Sub(s.StartTime()).Microseconds()) * time.Microsecond
				}, func(n string) string { return n }
			if route.via == "zipkin" {
				startOf, durOf, name = zipkinStart, zipkinDuration, strings.ToLower
			}
			checkTraceMatches(t, waitTrace(t, p.queryURL, traceID, 2), traceID, []want{
				{spanID: rs.SpanContext().SpanID().String(), service: service, name: name("POST /pay"), start: startOf(rs), duration: durOf(rs), tags: map[string]string{"payment.method": "card", "span.kind": "server"}},
				{spanID: cs.SpanContext().SpanID().String(), parentID: rs.SpanContext().SpanID().String(), service: service, name: "charge", start: startOf(cs), duration: durOf(cs), tags: map[string]string{"amount": "4200", "span.kind": "client"}},
			})
		})
	}
	metrics := scrape(t, p.adminURL)
	for _, proto := range []string{"otlp_grpc", "otlp_http", "zipkin_v2_json"} {
		if !strings.Contains(metrics, `tracelake_ingest_spans_accepted_total{protocol="`+proto+`",tenant="single-tenant"} 2`) {
			t.Errorf("no spans counted for %s:\n%s", proto, grepLines(metrics, "spans_accepted"))
		}
	}
}

// TestProtocolsInSplitRoles: Zipkin and Jaeger clients send to an ingest
// process; a separate query process on the same store answers Jaeger's
// and Zipkin's query APIs. Each process's Zipkin port serves only its own
// half of Zipkin's API.
func TestProtocolsInSplitRoles(t *testing.T) {
	for _, mk := range []func(*testing.T) storage{localStorage, minioStorage} {
		st := mk(t)
		ingest := start(t, "ingest", st)
		q := start(t, "query", st)

		// Jaeger Thrift over HTTP: acknowledged, so readable at once from
		// the other process.
		batch, traceID, wants := jaegerFixture("split-jaeger")
		body, err := thrift.NewTSerializer().Write(context.Background(), batch)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.Post(ingest.jaegerHTTPURL+"/api/traces", "application/x-thrift", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("POST /api/traces = %d", resp.StatusCode)
		}
		tr := getTrace(t, q.queryURL, traceID)
		if tr == nil {
			t.Fatalf("%s: trace not readable from the query process right after 202", st.url)
		}
		checkTraceMatches(t, tr, traceID, wants)

		// Zipkin v2 JSON through the ingest process's Zipkin port, read
		// through the query process's Zipkin port.
		rec := zipkinhttp.NewReporter(ingest.zipkinURL+"/api/v2/spans", zipkinhttp.BatchInterval(10*time.Millisecond))
		ep, _ := zipkin.NewEndpoint("split-zipkin", "10.1.1.1:80")
		tracer, err := zipkin.NewTracer(rec, zipkin.WithLocalEndpoint(ep), zipkin.WithTraceID128Bit(true))
		if err != nil {
			t.Fatal(err)
		}
		span := tracer.StartSpan("get /split", zipkin.Kind(zmodel.Server))
		span.Tag("role", "split")
		span.Finish()
		rec.Close()
		zid := span.Context().TraceID.String()
		waitTrace(t, q.queryURL, zid, 1)
		var zspans []zmodel.SpanModel
		if code := getJSON(t, q.zipkinURL+"/api/v2/trace/"+zid, nil, &zspans); code != 200 || len(zspans) != 1 || zspans[0].Tags["role"] != "split" {
			t.Fatalf("Zipkin API of the query process: %d, %+v", code, zspans)
		}

		// Each half of Zipkin's port belongs to its role.
		if code := getJSON(t, ingest.zipkinURL+"/api/v2/services", nil, nil); code != http.StatusNotFound {
			t.Errorf("the ingest process answers Zipkin queries: %d", code)
		}
		resp, err = http.Post(q.zipkinURL+"/api/v2/spans", "application/json", strings.NewReader("[]"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("the query process accepts Zipkin spans: %d", resp.StatusCode)
		}
	}
}
