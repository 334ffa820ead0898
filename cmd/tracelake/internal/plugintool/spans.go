package plugintool

import (
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// spanRef is one span of a request with its resource and scope, in the
// order the host flattens a request into a batch.
type spanRef struct {
	ri, si int // indexes of the resource, and of the scope in it
	rs     ptrace.ResourceSpans
	ss     ptrace.ScopeSpans
	span   ptrace.Span
}

func spanRefs(td ptrace.Traces) []spanRef {
	refs := make([]spanRef, 0, td.SpanCount())
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				refs = append(refs, spanRef{i, j, rs, ss, spans.At(k)})
			}
		}
	}
	return refs
}

// build copies refs into a new request, in order, grouping consecutive
// spans of one resource and scope as the input grouped them.
func build(refs []spanRef) ptrace.Traces {
	td := ptrace.NewTraces()
	var rs ptrace.ResourceSpans
	var ss ptrace.ScopeSpans
	for i, r := range refs {
		newRS := i == 0 || r.ri != refs[i-1].ri
		if newRS {
			rs = td.ResourceSpans().AppendEmpty()
			r.rs.Resource().CopyTo(rs.Resource())
			rs.SetSchemaUrl(r.rs.SchemaUrl())
		}
		if newRS || r.si != refs[i-1].si {
			ss = rs.ScopeSpans().AppendEmpty()
			r.ss.Scope().CopyTo(ss.Scope())
			ss.SetSchemaUrl(r.ss.SchemaUrl())
		}
		r.span.CopyTo(ss.Spans().AppendEmpty())
	}
	return td
}

// split cuts td into requests of at most n spans (n ≤ 0: one request).
func split(td ptrace.Traces, n int) []ptrace.Traces {
	refs := spanRefs(td)
	if n <= 0 {
		n = max(1, len(refs))
	}
	var out []ptrace.Traces
	for from := 0; from < len(refs); from += n {
		out = append(out, build(refs[from:min(from+n, len(refs))]))
	}
	return out
}

// resize returns a request of exactly n spans: td's spans cut short, or
// repeated.
func resize(td ptrace.Traces, n int) ptrace.Traces {
	refs := spanRefs(td)
	if len(refs) == 0 {
		return ptrace.NewTraces()
	}
	cycled := make([]spanRef, n)
	for i := range cycled {
		cycled[i] = refs[i%len(refs)]
	}
	return build(cycled)
}

func clone(td ptrace.Traces) ptrace.Traces {
	c := ptrace.NewTraces()
	td.CopyTo(c)
	return c
}

func serviceName(res pcommon.Resource) string {
	if v, ok := res.Attributes().Get("service.name"); ok {
		return v.AsString()
	}
	return ""
}
