package zipkinapi

import (
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinv2"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/querytest"
)

// Fixtures. Times are fixed so golden files are stable.

var (
	fixedNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	// zipkinID is the 64-bit trace ID of testdata/zipkin_trace.json.
	zipkinID = querytest.TraceID("0000000000000000463ac35c9f6413ad")
	otlpID   = querytest.TraceID("4bf92f3577b34da6a3ce929d0e0e4736")
)

// zipkinTrace is testdata/zipkin_trace.json, a trace as Zipkin tracers
// report it (a shared client/server span, the debug flag, annotations,
// remote endpoints with and without service names, IPv6, an error tag, a
// 64-bit trace ID and a non-ASCII service), as the Zipkin ingest path
// stores it: turned into OTLP by the collector's translator, with debug
// and shared kept in the attributes functions/zipkin adds.
func zipkinTrace(t testing.TB) ptrace.Traces {
	t.Helper()
	td, sent := plainZipkinTrace(t)
	type key struct {
		id   zipkinmodel.ID
		kind ptrace.SpanKind
	}
	kinds := map[zipkinmodel.Kind]ptrace.SpanKind{
		zipkinmodel.Client: ptrace.SpanKindClient, zipkinmodel.Server: ptrace.SpanKindServer,
		zipkinmodel.Producer: ptrace.SpanKindProducer, zipkinmodel.Consumer: ptrace.SpanKindConsumer,
	}
	flags := make(map[key]zipkinmodel.SpanModel)
	for _, s := range sent {
		flags[key{s.ID, kinds[s.Kind]}] = s
	}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				id := span.SpanID()
				s := flags[key{zipkinmodel.ID(binary.BigEndian.Uint64(id[:])), span.Kind()}]
				if s.Debug {
					span.Attributes().PutBool(attrDebug, true)
				}
				if s.Shared {
					span.Attributes().PutBool(attrShared, true)
				}
			}
		}
	}
	return td
}

// plainZipkinTrace is testdata/zipkin_trace.json through the collector's
// Zipkin→OTLP translator alone, which drops debug and shared, and the
// spans it was made from.
func plainZipkinTrace(t testing.TB) (ptrace.Traces, []zipkinmodel.SpanModel) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "zipkin_trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	td, err := zipkinv2.NewJSONTracesUnmarshaler(false).UnmarshalTraces(b)
	if err != nil {
		t.Fatal(err)
	}
	var sent []zipkinmodel.SpanModel
	if err := json.Unmarshal(b, &sent); err != nil {
		t.Fatal(err)
	}
	return td, sent
}

func ts(d time.Duration) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(time.Date(2024, 5, 1, 11, 40, 0, 0, time.UTC).Add(d))
}

// otlpTrace is a trace that arrived over OTLP: a 128-bit ID, mixed-case
// names, an error status, an event with attributes, a link, and a remote
// service under the older peer.service key (the translator still reads
// it; for the peer's address it reads only network.peer.address).
func otlpTrace() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "Checkout-API")
	rs.Resource().Attributes().PutStr("host.name", "web-1")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("io.opentelemetry.http")
	ss.Scope().SetVersion("1.2.3")

	root := ss.Spans().AppendEmpty()
	root.SetTraceID(otlpID)
	root.SetSpanID(querytest.SpanID("00f067aa0ba902b7"))
	root.SetName("GET /Cart")
	root.SetKind(ptrace.SpanKindServer)
	root.SetStartTimestamp(ts(0))
	root.SetEndTimestamp(ts(80 * time.Millisecond))
	root.Attributes().PutStr("http.method", "GET")
	root.Attributes().PutInt("http.status_code", 503)
	root.Status().SetCode(ptrace.StatusCodeError)
	root.Status().SetMessage("inventory down")
	ev := root.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(ts(70 * time.Millisecond))
	ev.Attributes().PutStr("exception.type", "TimeoutError")

	call := ss.Spans().AppendEmpty()
	call.SetTraceID(otlpID)
	call.SetSpanID(querytest.SpanID("00000000000000b1"))
	call.SetParentSpanID(root.SpanID())
	call.SetName("GET /Stock")
	call.SetKind(ptrace.SpanKindClient)
	call.SetStartTimestamp(ts(10 * time.Millisecond))
	call.SetEndTimestamp(ts(60 * time.Millisecond))
	call.Attributes().PutStr("peer.service", "Inventory")
	call.Attributes().PutStr("network.peer.address", "10.0.0.7")
	link := call.Links().AppendEmpty()
	link.SetTraceID(zipkinID)
	link.SetSpanID(querytest.SpanID("463ac35c9f6413ad"))

	work := ss.Spans().AppendEmpty()
	work.SetTraceID(otlpID)
	work.SetSpanID(querytest.SpanID("00000000000000c1"))
	work.SetParentSpanID(root.SpanID())
	work.SetName("price cart")
	work.SetKind(ptrace.SpanKindInternal)
	// Same start as call: the span ID breaks the tie.
	work.SetStartTimestamp(ts(10 * time.Millisecond))
	// Ended before it started: encoded without a duration.
	work.SetEndTimestamp(ts(5 * time.Millisecond))
	return td
}

// goldenQuerier answers with both fixtures: by ID, and to every search.
func goldenQuerier(t testing.TB) *querytest.Fake {
	return &querytest.Fake{
		Traces: map[pcommon.TraceID]ptrace.Traces{zipkinID: zipkinTrace(t), otlpID: otlpTrace()},
		Found:  []ptrace.Traces{otlpTrace(), zipkinTrace(t)},
		Links: []query.DependencyLink{
			{Parent: "frontend", Child: "backend", CallCount: 1520, ErrorCount: 17},
			{Parent: "frontend", Child: "个人信息服务", CallCount: 3},
		},
	}
}
