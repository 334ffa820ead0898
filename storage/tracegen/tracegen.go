// Package tracegen makes OTLP traces for tests, benchmarks and the load
// tool: random traces that exercise every part of the data model, and
// traces shaped like telemetrygen's, which the size and speed targets are
// quoted for. Nothing on a production path may use it.
package tracegen

import (
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Telemetrygen returns traces shaped like those of the OpenTelemetry
// collector's telemetrygen tool (one "lets-go" client span and
// childSpans "okey-dokey-N" server children per trace, two attributes
// each, 123µs long), with random trace and span IDs from rng.
func Telemetrygen(rng *rand.Rand, traces, childSpans int, now time.Time) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "telemetrygen")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("telemetrygen")
	spans := ss.Spans()
	spans.EnsureCapacity(traces * (1 + childSpans))
	for t := 0; t < traces; t++ {
		tid := TraceID(rng)
		start := now.Add(time.Duration(t) * time.Microsecond)
		parent := spans.AppendEmpty()
		parent.SetTraceID(tid)
		parent.SetSpanID(SpanID(rng))
		parent.SetName("lets-go")
		parent.SetKind(ptrace.SpanKindClient)
		parent.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		parent.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(123 * time.Microsecond)))
		parent.Attributes().PutStr("network.peer.address", "1.2.3.4")
		parent.Attributes().PutStr("peer.service", "telemetrygen-server")
		for c := 0; c < childSpans; c++ {
			child := spans.AppendEmpty()
			child.SetTraceID(tid)
			child.SetSpanID(SpanID(rng))
			child.SetParentSpanID(parent.SpanID())
			child.SetName(fmt.Sprintf("okey-dokey-%d", c))
			child.SetKind(ptrace.SpanKindServer)
			child.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			child.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(123 * time.Microsecond)))
			child.Attributes().PutStr("network.peer.address", "1.2.3.4")
			child.Attributes().PutStr("peer.service", "telemetrygen-client")
		}
	}
	return td
}

// TraceID returns a random, valid (non-zero) trace ID.
func TraceID(rng *rand.Rand) pcommon.TraceID {
	var id pcommon.TraceID
	for id.IsEmpty() {
		for i := range id {
			id[i] = byte(rng.Uint32())
		}
	}
	return id
}

// SpanID returns a random, valid (non-zero) span ID.
func SpanID(rng *rand.Rand) pcommon.SpanID {
	var id pcommon.SpanID
	for id.IsEmpty() {
		for i := range id {
			id[i] = byte(rng.Uint32())
		}
	}
	return id
}

// Random returns traces that exercise the whole OTLP data model: several
// resources and scopes with schema URLs and dropped counts, every attribute
// value type including nested arrays and maps and empty values, events,
// links, trace state, flags, every span kind and status code.
func Random(rng *rand.Rand, resources, scopes, spansPerScope int) ptrace.Traces {
	td := ptrace.NewTraces()
	base := time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC)
	traceIDs := make([]pcommon.TraceID, 1+spansPerScope/3)
	for i := range traceIDs {
		traceIDs[i] = TraceID(rng)
	}
	for r := 0; r < resources; r++ {
		rs := td.ResourceSpans().AppendEmpty()
		if rng.IntN(2) == 0 {
			rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
		}
		res := rs.Resource()
		if rng.IntN(5) != 0 { // sometimes no service.name at all
			res.Attributes().PutStr("service.name", fmt.Sprintf("svc-%d-ü", rng.IntN(4)))
		}
		randomAttrs(rng, res.Attributes(), 0)
		res.SetDroppedAttributesCount(uint32(rng.IntN(3)))
		for s := 0; s < scopes; s++ {
			ss := rs.ScopeSpans().AppendEmpty()
			if rng.IntN(2) == 0 {
				ss.SetSchemaUrl("https://example.com/schema")
			}
			ss.Scope().SetName(fmt.Sprintf("lib-%d", rng.IntN(3)))
			ss.Scope().SetVersion(fmt.Sprintf("v1.%d", rng.IntN(3)))
			randomAttrs(rng, ss.Scope().Attributes(), 1)
			ss.Scope().SetDroppedAttributesCount(uint32(rng.IntN(2)))
			for i := 0; i < spansPerScope; i++ {
				randomSpan(rng, ss.Spans().AppendEmpty(), traceIDs[rng.IntN(len(traceIDs))], base)
			}
		}
	}
	return td
}

func randomSpan(rng *rand.Rand, s ptrace.Span, tid pcommon.TraceID, base time.Time) {
	s.SetTraceID(tid)
	s.SetSpanID(SpanID(rng))
	if rng.IntN(3) != 0 {
		s.SetParentSpanID(SpanID(rng))
	}
	if rng.IntN(3) == 0 {
		s.TraceState().FromRaw(fmt.Sprintf("ot=th:%x,vendor=v%d", rng.IntN(1<<12), rng.IntN(9)))
	}
	s.SetFlags(uint32(rng.IntN(4)) << 8 >> 8)
	s.SetName(fmt.Sprintf("op %d /ü", rng.IntN(20)))
	s.SetKind(ptrace.SpanKind(rng.IntN(6)))
	start := base.Add(time.Duration(rng.Int64N(int64(time.Hour))))
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(rng.Int64N(int64(5 * time.Second))))))
	randomAttrs(rng, s.Attributes(), 0)
	s.SetDroppedAttributesCount(uint32(rng.IntN(2)))
	for e := rng.IntN(4); e > 0; e-- {
		ev := s.Events().AppendEmpty()
		ev.SetTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(rng.IntN(1000)) * time.Microsecond)))
		ev.SetName([]string{"exception", "log", ""}[rng.IntN(3)])
		randomAttrs(rng, ev.Attributes(), 1)
		ev.SetDroppedAttributesCount(uint32(rng.IntN(2)))
	}
	s.SetDroppedEventsCount(uint32(rng.IntN(2)))
	for l := rng.IntN(3); l > 0; l-- {
		ln := s.Links().AppendEmpty()
		ln.SetTraceID(TraceID(rng))
		ln.SetSpanID(SpanID(rng))
		if rng.IntN(2) == 0 {
			ln.TraceState().FromRaw("k=v")
		}
		ln.SetFlags(uint32(rng.IntN(2)))
		randomAttrs(rng, ln.Attributes(), 1)
		ln.SetDroppedAttributesCount(uint32(rng.IntN(2)))
	}
	s.SetDroppedLinksCount(uint32(rng.IntN(2)))
	s.Status().SetCode(ptrace.StatusCode(rng.IntN(3)))
	if s.Status().Code() == ptrace.StatusCodeError {
		s.Status().SetMessage("boom: ü")
	}
}

func randomAttrs(rng *rand.Rand, m pcommon.Map, depth int) {
	for n := rng.IntN(6); n > 0; n-- {
		randomValue(rng, m.PutEmpty(fmt.Sprintf("k%d.%d", depth, rng.IntN(50))), depth)
	}
}

func randomValue(rng *rand.Rand, v pcommon.Value, depth int) {
	kinds := 8
	if depth >= 3 { // no more nesting
		kinds = 6
	}
	switch rng.IntN(kinds) {
	case 0:
		v.SetStr([]string{"", "GET", "ü日本", "a\x00b", "200"}[rng.IntN(5)])
	case 1:
		v.SetBool(rng.IntN(2) == 0)
	case 2:
		v.SetInt([]int64{0, 200, -1, 1 << 62, -(1 << 63)}[rng.IntN(5)])
	case 3:
		v.SetDouble([]float64{0, 1.5, -2.25e-300, 3.14159}[rng.IntN(4)])
	case 4:
		b := make([]byte, rng.IntN(5))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		v.SetEmptyBytes().FromRaw(b)
	case 5:
		// leave empty
	case 6:
		sl := v.SetEmptySlice()
		for n := rng.IntN(4); n > 0; n-- {
			randomValue(rng, sl.AppendEmpty(), depth+1)
		}
	case 7:
		randomAttrs(rng, v.SetEmptyMap(), depth+1)
	}
}
