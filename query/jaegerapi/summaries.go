package jaegerapi

import (
	"cmp"
	"slices"
	"strconv"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// traceSummary is one entry of GET /api/v3/trace-summaries, shaped as in
// Jaeger's apiv3/summaries.go and snapshots/FindTraceSummaries.json.
// Timestamps are decimal strings of Unix nanoseconds, as OTLP JSON writes
// 64-bit integers, so JavaScript does not round them.
type traceSummary struct {
	TraceID              string           `json:"traceId"`
	RootServiceName      string           `json:"rootServiceName"`
	RootOperationName    string           `json:"rootOperationName"`
	MinStartTimeUnixNano string           `json:"minStartTimeUnixNano,omitempty"`
	MaxEndTimeUnixNano   string           `json:"maxEndTimeUnixNano,omitempty"`
	SpanCount            int              `json:"spanCount"`
	ErrorSpanCount       int              `json:"errorSpanCount"`
	OrphanSpanCount      int              `json:"orphanSpanCount"`
	Services             []serviceSummary `json:"services"`
}

type serviceSummary struct {
	Name           string `json:"name"`
	SpanCount      int    `json:"spanCount"`
	ErrorSpanCount int    `json:"errorSpanCount"`
}

// noServiceName is the service the collector's Jaeger translator gives a
// resource without attributes (tracetranslator.ResourceNoServiceName, in
// an internal package).
const noServiceName = "OTLPResourceNoServiceName"

// serviceName names a resource's service exactly as the classic API shows
// it, so both APIs agree.
func serviceName(res pcommon.Resource) string {
	attrs := res.Attributes()
	if attrs.Len() == 0 {
		return noServiceName
	}
	if v, ok := attrs.Get("service.name"); ok {
		return v.Str()
	}
	return ""
}

// summarize computes a trace's summary:
//   - the root is the span without a parent, the earliest if several
//     (ties: lowest span ID); without one the root names are empty;
//   - an orphan is a span whose parent is set but not in the trace;
//   - an error span has status code Error;
//   - services are sorted by name.
//
// It reports false for a trace without spans.
func summarize(td ptrace.Traces) (traceSummary, bool) {
	var (
		s          traceSummary
		ids        = make(map[pcommon.SpanID]struct{})
		services   = make(map[string]*serviceSummary)
		minStart   pcommon.Timestamp
		maxEnd     pcommon.Timestamp
		rootFound  bool
		rootName   string
		rootSvc    string
		rootStart  pcommon.Timestamp
		rootID     pcommon.SpanID
		haveTiming bool
	)
	rss := td.ResourceSpans()
	forEachSpan := func(f func(svc string, sp ptrace.Span)) {
		for i := 0; i < rss.Len(); i++ {
			rs := rss.At(i)
			svc := serviceName(rs.Resource())
			sss := rs.ScopeSpans()
			for j := 0; j < sss.Len(); j++ {
				spans := sss.At(j).Spans()
				for k := 0; k < spans.Len(); k++ {
					f(svc, spans.At(k))
				}
			}
		}
	}
	forEachSpan(func(_ string, sp ptrace.Span) { ids[sp.SpanID()] = struct{}{} })
	forEachSpan(func(svc string, sp ptrace.Span) {
		if s.SpanCount == 0 {
			s.TraceID = sp.TraceID().String()
		}
		s.SpanCount++
		ss := services[svc]
		if ss == nil {
			ss = &serviceSummary{Name: svc}
			services[svc] = ss
		}
		ss.SpanCount++
		if sp.Status().Code() == ptrace.StatusCodeError {
			s.ErrorSpanCount++
			ss.ErrorSpanCount++
		}
		start, end := sp.StartTimestamp(), sp.EndTimestamp()
		if !haveTiming || start < minStart {
			minStart = start
		}
		if !haveTiming || end > maxEnd {
			maxEnd = end
		}
		haveTiming = true

		parent := sp.ParentSpanID()
		switch {
		case parent.IsEmpty():
			id := sp.SpanID()
			if !rootFound || start < rootStart ||
				(start == rootStart && slices.Compare(id[:], rootID[:]) < 0) {
				rootName, rootSvc, rootStart, rootID, rootFound = sp.Name(), svc, start, id, true
			}
		default:
			if _, ok := ids[parent]; !ok {
				s.OrphanSpanCount++
			}
		}
	})
	if s.SpanCount == 0 {
		return traceSummary{}, false
	}
	if rootFound {
		s.RootServiceName, s.RootOperationName = rootSvc, rootName
	}
	// Zero means unknown, as proto3 would omit it.
	if minStart != 0 {
		s.MinStartTimeUnixNano = strconv.FormatUint(uint64(minStart), 10)
	}
	if maxEnd != 0 {
		s.MaxEndTimeUnixNano = strconv.FormatUint(uint64(maxEnd), 10)
	}
	s.Services = make([]serviceSummary, 0, len(services))
	for _, ss := range services {
		s.Services = append(s.Services, *ss)
	}
	slices.SortFunc(s.Services, func(a, b serviceSummary) int { return cmp.Compare(a.Name, b.Name) })
	return s, true
}
