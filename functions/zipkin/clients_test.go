package zipkin

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/openzipkin/zipkin-go"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"github.com/openzipkin/zipkin-go/propagation/b3"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	"github.com/openzipkin/zipkin-go/reporter"
	reporterhttp "github.com/openzipkin/zipkin-go/reporter/http"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	//lint:ignore SA1019 deprecated, but still what OpenTelemetry Go services send Zipkin with
	otelzipkin "go.opentelemetry.io/otel/exporters/zipkin"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
)

// statusDoer records the status of every request a client makes, since
// zipkin-go's reporter only logs failures.
type statusDoer struct {
	client *http.Client
	mu     sync.Mutex
	codes  []int
}

func (d *statusDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.client.Do(req)
	if err == nil {
		d.mu.Lock()
		d.codes = append(d.codes, resp.StatusCode)
		d.mu.Unlock()
	}
	return resp, err
}

// TestZipkinGoReporter sends spans the way a Go service instrumented with
// zipkin-go does: a frontend calls a backend, which joins the client's
// span (shared spans) after extracting its B3 headers.
func TestZipkinGoReporter(t *testing.T) {
	for _, tc := range []struct {
		name       string
		serializer reporter.SpanSerializer
		protocol   string
		trace128   bool
	}{
		{"json, 64-bit trace IDs", reporter.JSONSerializer{}, ProtocolV2JSON, false},
		{"json, 128-bit trace IDs", reporter.JSONSerializer{}, ProtocolV2JSON, true},
		{"proto, 64-bit trace IDs", zipkin_proto3.SpanSerializer{}, ProtocolV2Proto, false},
		{"proto, 128-bit trace IDs", zipkin_proto3.SpanSerializer{}, ProtocolV2Proto, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeConsumer{}
			srv := httptest.NewServer(newMux(fc))
			defer srv.Close()
			doer := &statusDoer{client: srv.Client()}
			rep := reporterhttp.NewReporter(srv.URL+PathV2,
				reporterhttp.Serializer(tc.serializer),
				reporterhttp.Client(doer),
				reporterhttp.BatchInterval(time.Hour), // everything goes in the flush on Close
				reporterhttp.Logger(log.New(io.Discard, "", 0)))

			frontendEP, err := zipkin.NewEndpoint("frontend", "192.168.99.1:8080")
			if err != nil {
				t.Fatal(err)
			}
			backendEP, err := zipkin.NewEndpoint("backend", "[2001:db8::c001]:9000")
			if err != nil {
				t.Fatal(err)
			}
			frontend, err := zipkin.NewTracer(rep, zipkin.WithLocalEndpoint(frontendEP),
				zipkin.WithSharedSpans(true), zipkin.WithTraceID128Bit(tc.trace128))
			if err != nil {
				t.Fatal(err)
			}
			backend, err := zipkin.NewTracer(rep, zipkin.WithLocalEndpoint(backendEP),
				zipkin.WithSharedSpans(true), zipkin.WithTraceID128Bit(tc.trace128))
			if err != nil {
				t.Fatal(err)
			}

			t0 := time.UnixMicro(1700000000000000)
			root := frontend.StartSpan("checkout", zipkin.StartTime(t0))
			debugCtx := root.Context()
			debugCtx.Debug = true // from here on the trace is forced (X-B3-Flags: 1)
			client := frontend.StartSpan("get /cart", zipkin.Kind(zipkinmodel.Client), zipkin.Parent(debugCtx),
				zipkin.StartTime(t0.Add(time.Millisecond)),
				zipkin.RemoteEndpoint(&zipkinmodel.Endpoint{ServiceName: "backend", IPv4: net.ParseIP("10.0.0.2"), Port: 9000}),
				zipkin.Tags(map[string]string{"http.method": "GET", "http.path": "/cart"}))
			client.Annotate(t0.Add(1100*time.Microsecond), "wire send")

			// The backend receives the call and joins the client's span.
			req := httptest.NewRequest(http.MethodGet, "/cart", nil)
			if err := b3.InjectHTTP(req)(client.Context()); err != nil {
				t.Fatal(err)
			}
			server := backend.StartSpan("get /cart", zipkin.Kind(zipkinmodel.Server),
				zipkin.Parent(backend.Extract(b3.ExtractHTTP(req))),
				zipkin.StartTime(t0.Add(2*time.Millisecond)),
				zipkin.RemoteEndpoint(&zipkinmodel.Endpoint{IPv4: net.ParseIP("192.168.99.1"), Port: 51234}))
			server.Tag("http.status_code", "200")
			server.Annotate(t0.Add(2500*time.Microsecond), "cache miss")
			server.FinishedWithDuration(3 * time.Millisecond)
			client.FinishedWithDuration(5 * time.Millisecond)
			root.FinishedWithDuration(10 * time.Millisecond)
			if err := rep.Close(); err != nil {
				t.Fatal(err)
			}

			if len(doer.codes) == 0 {
				t.Fatal("the reporter sent nothing")
			}
			for _, code := range doer.codes {
				if code != http.StatusAccepted {
					t.Fatalf("the reporter got status %d", code)
				}
			}
			for _, c := range fc.calls {
				if c.protocol != tc.protocol {
					t.Errorf("protocol %s, want %s", c.protocol, tc.protocol)
				}
			}
			spans := fc.spans()
			if len(spans) != 3 {
				t.Fatalf("%d spans, want 3", len(spans))
			}

			traceID := root.Context().TraceID
			wantTrace := traceID.String()
			if !tc.trace128 {
				if traceID.High != 0 {
					t.Fatal("a 64-bit tracer made a 128-bit trace ID")
				}
				wantTrace = "0000000000000000" + wantTrace
			} else if traceID.High == 0 {
				t.Fatal("a 128-bit tracer made a 64-bit trace ID")
			}
			rootID, clientID := root.Context().ID.String(), client.Context().ID.String()
			if server.Context().ID.String() != clientID {
				t.Fatal("zipkin-go did not share the span")
			}
			us := func(d time.Duration) uint64 { return uint64(t0.Add(d).UnixNano()) }

			check(t, find(t, spans, rootID, ptrace.SpanKindUnspecified), want{
				service: "frontend", trace: wantTrace, name: "checkout", start: us(0), end: us(10 * time.Millisecond),
				attrs:   map[string]any{"network.local.address": "192.168.99.1", "net.host.port": int64(8080)},
				noAttrs: []string{AttrDebug, AttrShared},
			})
			check(t, find(t, spans, clientID, ptrace.SpanKindClient), want{
				service: "frontend", trace: wantTrace, parent: rootID, name: "get /cart",
				start: us(time.Millisecond), end: us(6 * time.Millisecond),
				attrs: map[string]any{
					"network.local.address": "192.168.99.1", "net.host.port": int64(8080),
					"service.peer.name": "backend", "network.peer.address": "10.0.0.2", "net.peer.port": int64(9000),
					"http.method": "GET", "http.path": "/cart", AttrDebug: true,
				},
				noAttrs: []string{AttrShared},
				events:  []string{"wire send@1700000000001100000"},
			})
			check(t, find(t, spans, clientID, ptrace.SpanKindServer), want{
				service: "backend", trace: wantTrace, parent: rootID, name: "get /cart",
				start: us(2 * time.Millisecond), end: us(5 * time.Millisecond),
				attrs: map[string]any{
					"network.local.address": "2001:db8::c001", "net.host.port": int64(9000),
					"network.peer.address": "192.168.99.1", "net.peer.port": int64(51234),
					"http.status_code": "200", AttrDebug: true, AttrShared: true,
				},
				events: []string{"cache miss@1700000000002500000"},
			})
		})
	}
}

// TestOTelZipkinExporter sends spans through the OpenTelemetry Go SDK's
// Zipkin exporter, as a service migrating from Zipkin would.
func TestOTelZipkinExporter(t *testing.T) {
	fc := &fakeConsumer{}
	srv := httptest.NewServer(newMux(fc))
	defer srv.Close()
	exp, err := otelzipkin.New(srv.URL+PathV2, otelzipkin.WithClient(srv.Client()))
	if err != nil {
		t.Fatal(err)
	}

	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec),
		sdktrace.WithResource(resource.NewWithAttributes(semconv.SchemaURL,
			semconv.ServiceName("checkout"), semconv.ServiceVersion("1.4.2"), attribute.String("deployment.environment", "test"))))
	tracer := tp.Tracer("example.com/checkout/http", trace.WithInstrumentationVersion("0.9.0"))

	t0 := time.UnixMicro(1700000000000000)
	ctx, server := tracer.Start(context.Background(), "GET /checkout", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithTimestamp(t0),
		trace.WithAttributes(attribute.String("http.request.method", "GET"), attribute.Int("http.response.status_code", 200)))
	server.AddEvent("cache miss", trace.WithTimestamp(t0.Add(time.Millisecond)))
	_, client := tracer.Start(ctx, "SELECT users", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithTimestamp(t0.Add(2*time.Millisecond)),
		trace.WithAttributes(attribute.String("peer.service", "postgres"), attribute.String("db.system.name", "postgresql")))
	client.SetStatus(codes.Error, "connection reset")
	client.End(trace.WithTimestamp(t0.Add(4 * time.Millisecond)))
	server.End(trace.WithTimestamp(t0.Add(5 * time.Millisecond)))
	if err := tp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The exporter fails unless the answer is 202.
	if err := exp.ExportSpans(context.Background(), rec.Ended()); err != nil {
		t.Fatal(err)
	}
	if err := exp.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}

	spans := fc.spans()
	if len(spans) != 2 || fc.calls[0].protocol != ProtocolV2JSON {
		t.Fatalf("%d spans over %v", len(spans), fc.calls)
	}
	traceID := server.SpanContext().TraceID().String()
	serverID, clientID := server.SpanContext().SpanID().String(), client.SpanContext().SpanID().String()
	us := func(d time.Duration) uint64 { return uint64(t0.Add(d).UnixNano()) }

	s := find(t, spans, serverID, ptrace.SpanKindServer)
	check(t, s, want{
		// zipkin-go's JSON encoder, which the exporter uses, lowercases names.
		service: "checkout", trace: traceID, name: "get /checkout", start: us(0), end: us(5 * time.Millisecond),
		// Zipkin tags are strings: typed attributes arrive as text.
		attrs:  map[string]any{"http.request.method": "GET", "http.response.status_code": "200"},
		events: []string{"cache miss@1700000000001000000"},
	})
	// The exporter copies resource attributes into tags; the translator
	// moves the known ones back to the resource.
	for k, v := range map[string]string{"service.version": "1.4.2", "deployment.environment": "test"} {
		if got, ok := s.resource.Get(k); !ok || got.Str() != v {
			t.Errorf("resource %s = %q, want %s; resource %v", k, got.Str(), v, s.resource.AsRaw())
		}
	}
	c := find(t, spans, clientID, ptrace.SpanKindClient)
	check(t, c, want{
		service: "checkout", trace: traceID, parent: serverID, name: "select users",
		start: us(2 * time.Millisecond), end: us(4 * time.Millisecond),
		attrs: map[string]any{"service.peer.name": "postgres", "peer.service": "postgres", "db.system.name": "postgresql",
			// the status description travels as the "error" tag
			"error": "connection reset"},
		status: ptrace.StatusCodeError,
	})
	for _, sp := range spans {
		if sp.scope.Name() != "example.com/checkout/http" || sp.scope.Version() != "0.9.0" {
			t.Errorf("span %q in scope %q %q", sp.Name(), sp.scope.Name(), sp.scope.Version())
		}
	}
}
