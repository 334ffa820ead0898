package zipkinapi

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinv2"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Span attributes in which the Zipkin ingest path (functions/zipkin's
// AttrDebug and AttrShared) keeps the Zipkin fields OTLP has no place
// for. Both are booleans, present only when true.
const (
	attrDebug  = "zipkin.debug"
	attrShared = "zipkin.shared"
)

// toZipkin converts one trace to Zipkin v2 spans with the collector's
// translator, restores what that translator loses on the way back from
// OTLP, and sorts the spans by timestamp, then ID, then kind, so that the
// same stored data always gives the same bytes. Spans without a trace or
// span ID, which the translator refuses, are left out.
func toZipkin(td ptrace.Traces) ([]*zipkinmodel.SpanModel, error) {
	td = withValidIDs(td)
	spans, err := zipkinv2.FromTranslator{}.FromTraces(td)
	if err != nil {
		return nil, fmt.Errorf("translate trace to zipkin: %w", err)
	}
	if len(spans) == td.SpanCount() {
		restoreZipkinFields(td, spans)
	}
	clients := make(map[zipkinmodel.ID]bool)
	for _, s := range spans {
		// zipkin-go refuses to encode a negative duration, which a span
		// that ended before it started would give; Zipkin calls an absent
		// duration unknown.
		if s.Duration < 0 {
			s.Duration = 0
		}
		if s.Kind == zipkinmodel.Client {
			clients[s.ID] = true
		}
	}
	// Spans stored before the ingest path kept attrShared, or that came
	// another way, still say they are shared by their IDs: a Zipkin shared
	// span is the SERVER half of an RPC that reuses its CLIENT's span ID,
	// and OTLP span IDs are otherwise unique within a trace.
	for _, s := range spans {
		if s.Kind == zipkinmodel.Server && clients[s.ID] {
			s.Shared = true
		}
	}
	slices.SortStableFunc(spans, func(x, y *zipkinmodel.SpanModel) int {
		return cmp.Or(
			x.Timestamp.Compare(y.Timestamp),
			cmp.Compare(x.ID, y.ID),
			cmp.Compare(kindRank(x.Kind), kindRank(y.Kind)),
		)
	})
	return spans, nil
}

// kindRank orders the halves of a shared span client first.
func kindRank(k zipkinmodel.Kind) int {
	switch k {
	case zipkinmodel.Client:
		return 1
	case zipkinmodel.Server:
		return 2
	case zipkinmodel.Producer:
		return 3
	case zipkinmodel.Consumer:
		return 4
	default:
		return 0
	}
}

// restoreZipkinFields gives back what the OTLP→Zipkin translator cannot:
//   - debug and shared, from the boolean attributes attrDebug and
//     attrShared, which are removed from the tags (a string tag of the
//     same name is a client's own and stays);
//   - the message of Zipkin's error tag: Zipkin→OTLP keeps a tag
//     error="Connection refused" as an attribute and sets the status to
//     error, and OTLP→Zipkin then overwrites the tag with "true".
//
// spans must be FromTraces(td), which yields one span per pdata span in
// iteration order.
func restoreZipkinFields(td ptrace.Traces, spans []*zipkinmodel.SpanModel) {
	i := 0
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, span := range ss.Spans().All() {
				zs := spans[i]
				i++
				attrs := span.Attributes()
				if v, ok := attrs.Get(attrDebug); ok && v.Type() == pcommon.ValueTypeBool {
					zs.Debug = v.Bool()
					delete(zs.Tags, attrDebug)
				}
				if v, ok := attrs.Get(attrShared); ok && v.Type() == pcommon.ValueTypeBool {
					zs.Shared = v.Bool()
					delete(zs.Tags, attrShared)
				}
				if span.Status().Code() != ptrace.StatusCodeError {
					continue
				}
				v, ok := attrs.Get("error")
				if !ok || v.Type() != pcommon.ValueTypeStr {
					continue
				}
				switch msg := v.Str(); msg {
				case "", "true", "false":
				default:
					if zs.Tags != nil {
						zs.Tags["error"] = msg
					}
				}
			}
		}
	}
}

// withValidIDs returns td, or a copy of it without the spans whose trace
// or span ID is empty: the translator fails on the first such span, and
// one bad span must not hide the rest of its trace.
func withValidIDs(td ptrace.Traces) ptrace.Traces {
	invalid := func(s ptrace.Span) bool { return s.TraceID().IsEmpty() || s.SpanID().IsEmpty() }
	found := false
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				found = found || invalid(s)
			}
		}
	}
	if !found {
		return td
	}
	out := ptrace.NewTraces()
	td.CopyTo(out)
	for _, rs := range out.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			ss.Spans().RemoveIf(invalid)
		}
	}
	return out
}
