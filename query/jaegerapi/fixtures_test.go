package jaegerapi

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query/querytest"
)

// Fixtures. Times are fixed so golden files are stable.

var (
	fixedNow  = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	traceT0   = time.Date(2024, 5, 1, 11, 30, 0, 123456789, time.UTC)
	richID    = querytest.TraceID("4bf92f3577b34da6a3ce929d0e0e4736")
	shortID   = querytest.TraceID("0000000000000000000000000000abcd")
	linkedID  = querytest.TraceID("0af7651916cd43dd8448eb211c80319c")
	orphanPar = querytest.SpanID("ffffffffffffff01")
)

func ts(d time.Duration) pcommon.Timestamp {
	return pcommon.NewTimestampFromTime(traceT0.Add(d))
}

func frontendResource(res pcommon.Resource) {
	a := res.Attributes()
	a.PutStr("service.name", "frontend")
	a.PutStr("host.name", "web-1")
	a.PutInt("process.pid", 4242)
}

// richTrace is one trace across two services that exercises every part of
// the OTLP → Jaeger mapping: resource attributes, scopes with and without
// a version, every attribute type (bytes, array and map included), events,
// links inside and outside the trace, error and ok statuses, trace state,
// sampled flags, every span kind, an orphan span, and two resources with
// identical attributes (which must share a Jaeger process).
func richTrace() ptrace.Traces {
	td := ptrace.NewTraces()

	// frontend, scope with version.
	rs := td.ResourceSpans().AppendEmpty()
	frontendResource(rs.Resource())
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("io.opentelemetry.http")
	ss.Scope().SetVersion("1.2.3")

	root := ss.Spans().AppendEmpty()
	root.SetTraceID(richID)
	root.SetSpanID(querytest.SpanID("00f067aa0ba902b7"))
	root.SetName("GET /checkout")
	root.SetKind(ptrace.SpanKindServer)
	root.SetStartTimestamp(ts(0))
	root.SetEndTimestamp(ts(150 * time.Millisecond))
	root.SetFlags(1)
	root.TraceState().FromRaw("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
	ra := root.Attributes()
	ra.PutStr("http.method", "GET")
	ra.PutInt("http.status_code", 500)
	ra.PutDouble("sample.ratio", 0.25)
	ra.PutBool("retry", true)
	ra.PutEmptyBytes("payload").FromRaw([]byte{0xde, 0xad, 0xbe, 0xef})
	arr := ra.PutEmptySlice("tags")
	arr.AppendEmpty().SetStr("a")
	arr.AppendEmpty().SetInt(2)
	m := ra.PutEmptyMap("user")
	m.PutStr("id", "u-17")
	m.PutBool("admin", false)
	ra.PutInt("big.number", 9007199254740993) // beyond 2^53
	root.Status().SetCode(ptrace.StatusCodeError)
	root.Status().SetMessage("upstream failed")
	ev := root.Events().AppendEmpty()
	ev.SetName("cache miss")
	ev.SetTimestamp(ts(10 * time.Millisecond))
	ev.Attributes().PutStr("cache.key", "cart:17")
	ev = root.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(ts(140 * time.Millisecond))
	ev.Attributes().PutStr("exception.type", "TimeoutError")
	ev.Attributes().PutStr("exception.message", "charge timed out")

	db := ss.Spans().AppendEmpty()
	db.SetTraceID(richID)
	db.SetSpanID(querytest.SpanID("00000000000000b1"))
	db.SetParentSpanID(root.SpanID())
	db.SetName("SELECT orders")
	db.SetKind(ptrace.SpanKindClient)
	db.SetStartTimestamp(ts(20 * time.Millisecond))
	db.SetEndTimestamp(ts(50 * time.Millisecond))
	db.Attributes().PutStr("db.system", "postgresql")
	db.Status().SetCode(ptrace.StatusCodeOk)
	link := db.Links().AppendEmpty()
	link.SetTraceID(linkedID)
	link.SetSpanID(querytest.SpanID("b7ad6b7169203331"))
	link.Attributes().PutStr("link.reason", "batch")

	// backend, scope without version.
	rs = td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "backend")
	rs.Resource().Attributes().PutStr("host.name", "api-1")
	ss = rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("io.opentelemetry.grpc")

	charge := ss.Spans().AppendEmpty()
	charge.SetTraceID(richID)
	charge.SetSpanID(querytest.SpanID("00000000000000c1"))
	charge.SetParentSpanID(root.SpanID())
	charge.SetName("POST /charge")
	charge.SetKind(ptrace.SpanKindServer)
	charge.SetStartTimestamp(ts(50 * time.Millisecond))
	charge.SetEndTimestamp(ts(130 * time.Millisecond))
	charge.Attributes().PutStr("rpc.system", "grpc")
	link = charge.Links().AppendEmpty()
	link.SetTraceID(richID)
	link.SetSpanID(db.SpanID())
	link.Attributes().PutStr("opentracing.ref_type", "child_of")

	work := ss.Spans().AppendEmpty()
	work.SetTraceID(richID)
	work.SetSpanID(querytest.SpanID("00000000000000c2"))
	work.SetParentSpanID(charge.SpanID())
	work.SetName("compute tax")
	work.SetKind(ptrace.SpanKindInternal)
	work.SetStartTimestamp(ts(60 * time.Millisecond))
	work.SetEndTimestamp(ts(70 * time.Millisecond))
	work.Status().SetCode(ptrace.StatusCodeError)

	orphan := ss.Spans().AppendEmpty()
	orphan.SetTraceID(richID)
	orphan.SetSpanID(querytest.SpanID("00000000000000c3"))
	orphan.SetParentSpanID(orphanPar)
	orphan.SetName("late retry")
	orphan.SetStartTimestamp(ts(200 * time.Millisecond))
	orphan.SetEndTimestamp(ts(210 * time.Millisecond))

	// frontend again, a separate resource with identical attributes: the
	// Jaeger view must reuse the first frontend process.
	rs = td.ResourceSpans().AppendEmpty()
	frontendResource(rs.Resource())
	ss = rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("io.opentelemetry.kafka")
	pub := ss.Spans().AppendEmpty()
	pub.SetTraceID(richID)
	pub.SetSpanID(querytest.SpanID("00000000000000a2"))
	pub.SetParentSpanID(root.SpanID())
	pub.SetName("orders publish")
	pub.SetKind(ptrace.SpanKindProducer)
	pub.SetStartTimestamp(ts(140 * time.Millisecond))
	pub.SetEndTimestamp(ts(145 * time.Millisecond))

	con := ss.Spans().AppendEmpty()
	con.SetTraceID(richID)
	con.SetSpanID(querytest.SpanID("00000000000000a1"))
	con.SetParentSpanID(pub.SpanID())
	con.SetName("orders process")
	con.SetKind(ptrace.SpanKindConsumer)
	// Same start as pub: span ID breaks the tie.
	con.SetStartTimestamp(ts(140 * time.Millisecond))
	con.SetEndTimestamp(ts(148 * time.Millisecond))
	return td
}

// shortTrace is a one-span trace whose ID has zero high bits, as a 64-bit
// Zipkin ID does.
func shortTrace() ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "frontend")
	s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	s.SetTraceID(shortID)
	s.SetSpanID(querytest.SpanID("000000000000abcd"))
	s.SetName("GET /health")
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(ts(-time.Minute))
	s.SetEndTimestamp(ts(-time.Minute + 2*time.Millisecond))
	return td
}

// goldenQuerier answers with both fixtures: by ID, and to every search.
func goldenQuerier() *querytest.Fake {
	return &querytest.Fake{
		Traces: map[pcommon.TraceID]ptrace.Traces{richID: richTrace(), shortID: shortTrace()},
		Found:  []ptrace.Traces{richTrace(), shortTrace()},
	}
}
