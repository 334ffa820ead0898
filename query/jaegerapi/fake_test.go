package jaegerapi

import (
	"context"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query"
)

// fakeQuerier answers from canned data and records what it was asked.
type fakeQuerier struct {
	// Canned answers.
	traces   map[pcommon.TraceID]ptrace.Traces
	found    []ptrace.Traces
	services []string
	ops      []query.Operation
	err      error // returned by every method when set

	mu     sync.Mutex
	calls  []string
	tenant string
	ids    []pcommon.TraceID
	within []query.TimeRange
	query  *query.TraceQuery
	opSvc  string
	opKind string
}

func (f *fakeQuerier) record(call, tenant string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
	f.tenant = tenant
}

func (f *fakeQuerier) Trace(_ context.Context, tenant string, id pcommon.TraceID, within query.TimeRange) (ptrace.Traces, error) {
	f.record("Trace", tenant)
	f.mu.Lock()
	f.ids = append(f.ids, id)
	f.within = append(f.within, within)
	f.mu.Unlock()
	if f.err != nil {
		return ptrace.Traces{}, f.err
	}
	if td, ok := f.traces[id]; ok {
		return td, nil
	}
	return ptrace.Traces{}, fmt.Errorf("trace %s: %w", id, query.ErrNotFound)
}

func (f *fakeQuerier) FindTraces(_ context.Context, tenant string, q query.TraceQuery) ([]ptrace.Traces, error) {
	f.record("FindTraces", tenant)
	f.mu.Lock()
	f.query = &q
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	return f.found, nil
}

func (f *fakeQuerier) Services(_ context.Context, tenant string) ([]string, error) {
	f.record("Services", tenant)
	if f.err != nil {
		return nil, f.err
	}
	return f.services, nil
}

func (f *fakeQuerier) Operations(_ context.Context, tenant, service, spanKind string) ([]query.Operation, error) {
	f.record("Operations", tenant)
	f.mu.Lock()
	f.opSvc, f.opKind = service, spanKind
	f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	var out []query.Operation
	for _, op := range f.ops {
		if spanKind == "" || op.SpanKind == spanKind {
			out = append(out, op)
		}
	}
	return out, nil
}

// Fixtures. Times are fixed so golden files are stable.

var (
	fixedNow  = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	traceT0   = time.Date(2024, 5, 1, 11, 30, 0, 123456789, time.UTC)
	richID    = mustTraceID("4bf92f3577b34da6a3ce929d0e0e4736")
	shortID   = mustTraceID("0000000000000000000000000000abcd")
	linkedID  = mustTraceID("0af7651916cd43dd8448eb211c80319c")
	orphanPar = mustSpanID("ffffffffffffff01")
)

func mustTraceID(s string) pcommon.TraceID {
	var id pcommon.TraceID
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		panic(err)
	}
	return id
}

func mustSpanID(s string) pcommon.SpanID {
	var id pcommon.SpanID
	if _, err := hex.Decode(id[:], []byte(s)); err != nil {
		panic(err)
	}
	return id
}

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
	root.SetSpanID(mustSpanID("00f067aa0ba902b7"))
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
	db.SetSpanID(mustSpanID("00000000000000b1"))
	db.SetParentSpanID(root.SpanID())
	db.SetName("SELECT orders")
	db.SetKind(ptrace.SpanKindClient)
	db.SetStartTimestamp(ts(20 * time.Millisecond))
	db.SetEndTimestamp(ts(50 * time.Millisecond))
	db.Attributes().PutStr("db.system", "postgresql")
	db.Status().SetCode(ptrace.StatusCodeOk)
	link := db.Links().AppendEmpty()
	link.SetTraceID(linkedID)
	link.SetSpanID(mustSpanID("b7ad6b7169203331"))
	link.Attributes().PutStr("link.reason", "batch")

	// backend, scope without version.
	rs = td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "backend")
	rs.Resource().Attributes().PutStr("host.name", "api-1")
	ss = rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("io.opentelemetry.grpc")

	charge := ss.Spans().AppendEmpty()
	charge.SetTraceID(richID)
	charge.SetSpanID(mustSpanID("00000000000000c1"))
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
	work.SetSpanID(mustSpanID("00000000000000c2"))
	work.SetParentSpanID(charge.SpanID())
	work.SetName("compute tax")
	work.SetKind(ptrace.SpanKindInternal)
	work.SetStartTimestamp(ts(60 * time.Millisecond))
	work.SetEndTimestamp(ts(70 * time.Millisecond))
	work.Status().SetCode(ptrace.StatusCodeError)

	orphan := ss.Spans().AppendEmpty()
	orphan.SetTraceID(richID)
	orphan.SetSpanID(mustSpanID("00000000000000c3"))
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
	pub.SetSpanID(mustSpanID("00000000000000a2"))
	pub.SetParentSpanID(root.SpanID())
	pub.SetName("orders publish")
	pub.SetKind(ptrace.SpanKindProducer)
	pub.SetStartTimestamp(ts(140 * time.Millisecond))
	pub.SetEndTimestamp(ts(145 * time.Millisecond))

	con := ss.Spans().AppendEmpty()
	con.SetTraceID(richID)
	con.SetSpanID(mustSpanID("00000000000000a1"))
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
	s.SetSpanID(mustSpanID("000000000000abcd"))
	s.SetName("GET /health")
	s.SetKind(ptrace.SpanKindServer)
	s.SetStartTimestamp(ts(-time.Minute))
	s.SetEndTimestamp(ts(-time.Minute + 2*time.Millisecond))
	return td
}

// AttributeValues is not used by Jaeger's APIs; the fake records the call
// so a test would notice if a route started using it.
func (f *fakeQuerier) AttributeValues(_ context.Context, tenant, service, key string) ([]string, error) {
	f.record("AttributeValues", tenant)
	return nil, f.err
}
