package pipeline

import (
	"fmt"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Limits bound what one request may carry. Exceeding MaxSpansPerRequest
// refuses the request; the others truncate, as OpenTelemetry SDKs do,
// counting what was dropped in the OTLP dropped_*_count fields so nothing
// disappears without a trace. Zero disables a limit.
type Limits struct {
	MaxSpansPerRequest int
	// MaxAttributes bounds the attributes of each span, resource, scope,
	// event and link; the first ones are kept.
	MaxAttributes int
	// MaxAttributeValueLength bounds string and bytes values in bytes
	// (also inside arrays and maps); strings are cut at a UTF-8 boundary.
	MaxAttributeValueLength int
	MaxEventsPerSpan        int
	MaxLinksPerSpan         int
}

// DefaultLimits are OpenTelemetry SDKs' span limits, plus bounds on
// request size and value length that protect storage.
func DefaultLimits() Limits {
	return Limits{
		MaxSpansPerRequest:      100_000,
		MaxAttributes:           128,
		MaxAttributeValueLength: 64 << 10,
		MaxEventsPerSpan:        128,
		MaxLinksPerSpan:         128,
	}
}

// Validate reports the first invalid limit.
func (l Limits) Validate() error {
	for name, v := range map[string]int{
		"max spans per request": l.MaxSpansPerRequest, "max attributes": l.MaxAttributes,
		"max attribute value length": l.MaxAttributeValueLength, "max events per span": l.MaxEventsPerSpan,
		"max links per span": l.MaxLinksPerSpan,
	} {
		if v < 0 {
			return fmt.Errorf("%s must not be negative, got %d", name, v)
		}
	}
	return nil
}

// limitStats counts what apply changed.
type limitStats struct {
	attributesDropped, valuesTruncated, eventsDropped, linksDropped int
}

// apply truncates td in place to l.
func (l Limits) apply(td ptrace.Traces) limitStats {
	var st limitStats
	for _, rs := range td.ResourceSpans().All() {
		res := rs.Resource()
		res.SetDroppedAttributesCount(res.DroppedAttributesCount() + l.attrs(res.Attributes(), &st))
		for _, ss := range rs.ScopeSpans().All() {
			sc := ss.Scope()
			sc.SetDroppedAttributesCount(sc.DroppedAttributesCount() + l.attrs(sc.Attributes(), &st))
			for _, s := range ss.Spans().All() {
				s.SetDroppedAttributesCount(s.DroppedAttributesCount() + l.attrs(s.Attributes(), &st))
				if n := s.Events().Len(); l.MaxEventsPerSpan > 0 && n > l.MaxEventsPerSpan {
					i := 0
					s.Events().RemoveIf(func(ptrace.SpanEvent) bool { i++; return i > l.MaxEventsPerSpan })
					s.SetDroppedEventsCount(s.DroppedEventsCount() + uint32(n-l.MaxEventsPerSpan))
					st.eventsDropped += n - l.MaxEventsPerSpan
				}
				for _, ev := range s.Events().All() {
					ev.SetDroppedAttributesCount(ev.DroppedAttributesCount() + l.attrs(ev.Attributes(), &st))
				}
				if n := s.Links().Len(); l.MaxLinksPerSpan > 0 && n > l.MaxLinksPerSpan {
					i := 0
					s.Links().RemoveIf(func(ptrace.SpanLink) bool { i++; return i > l.MaxLinksPerSpan })
					s.SetDroppedLinksCount(s.DroppedLinksCount() + uint32(n-l.MaxLinksPerSpan))
					st.linksDropped += n - l.MaxLinksPerSpan
				}
				for _, ln := range s.Links().All() {
					ln.SetDroppedAttributesCount(ln.DroppedAttributesCount() + l.attrs(ln.Attributes(), &st))
				}
			}
		}
	}
	return st
}

// attrs truncates m and returns how many attributes it dropped.
func (l Limits) attrs(m pcommon.Map, st *limitStats) uint32 {
	dropped := 0
	if l.MaxAttributes > 0 && m.Len() > l.MaxAttributes {
		i := 0
		m.RemoveIf(func(string, pcommon.Value) bool { i++; return i > l.MaxAttributes })
		dropped = i - l.MaxAttributes
		st.attributesDropped += dropped
	}
	if l.MaxAttributeValueLength > 0 {
		for _, v := range m.All() {
			l.truncate(v, st)
		}
	}
	return uint32(dropped)
}

func (l Limits) truncate(v pcommon.Value, st *limitStats) {
	max := l.MaxAttributeValueLength
	switch v.Type() {
	case pcommon.ValueTypeStr:
		if s := v.Str(); len(s) > max {
			cut := max
			for cut > 0 && !utf8.RuneStart(s[cut]) {
				cut--
			}
			v.SetStr(s[:cut])
			st.valuesTruncated++
		}
	case pcommon.ValueTypeBytes:
		if b := v.Bytes(); b.Len() > max {
			raw := b.AsRaw()
			b.FromRaw(raw[:max])
			st.valuesTruncated++
		}
	case pcommon.ValueTypeSlice:
		for _, e := range v.Slice().All() {
			l.truncate(e, st)
		}
	case pcommon.ValueTypeMap:
		for _, e := range v.Map().All() {
			l.truncate(e, st)
		}
	}
}
