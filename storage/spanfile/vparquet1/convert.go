package vparquet1

import (
	"fmt"
	"unsafe"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Batch holds spans converted to rows, ready to be written into a file.
//
// Converting is the costly half of writing, so the ingest path converts
// each request into its own Batch in the request's goroutine (in parallel)
// and a flush only sorts and encodes. A Batch is not safe for concurrent
// use; a Batch handed to Write must not be appended to afterwards.
type Batch struct {
	rows     []span
	minStart int64
	maxEnd   int64
	memSize  int
}

// NewBatch converts td into rows. td may be reused or discarded afterwards:
// the batch shares no mutable memory with it.
func NewBatch(td ptrace.Traces) *Batch {
	b := &Batch{}
	b.Append(td)
	return b
}

// Len is the number of spans in the batch.
func (b *Batch) Len() int { return len(b.rows) }

// MemSize estimates the bytes of memory the batch holds.
func (b *Batch) MemSize() int { return b.memSize }

// TimeRange returns the earliest span start and the latest span end, in
// Unix nanoseconds. Both are zero for an empty batch.
func (b *Batch) TimeRange() (minStart, maxEnd int64) { return b.minStart, b.maxEnd }

// Append converts td's spans and adds them to the batch.
func (b *Batch) Append(td ptrace.Traces) {
	// Count first so every slice below is allocated once and exactly.
	var nSpans, nAttrs, nEvents, nLinks int
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		sss := rss.At(i).ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			nSpans += spans.Len()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				nAttrs += s.Attributes().Len()
				nEvents += s.Events().Len()
				nLinks += s.Links().Len()
			}
		}
	}
	if nSpans == 0 {
		return
	}
	b.rows = growRows(b.rows, nSpans)
	attrs := make([]attr, 0, nAttrs)
	events := make([]event, 0, nEvents)
	links := make([]link, 0, nLinks)
	b.memSize += nSpans*int(unsafe.Sizeof(span{})) + nAttrs*int(unsafe.Sizeof(attr{})) +
		nEvents*int(unsafe.Sizeof(event{})) + nLinks*int(unsafe.Sizeof(link{}))

	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := rs.Resource()
		resBlob := encodeResource(rs.SchemaUrl(), res)
		service := serviceName(res.Attributes())
		b.memSize += len(resBlob)
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scopeBlob := encodeScope(ss.SchemaUrl(), ss.Scope())
			b.memSize += len(scopeBlob)
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				s := spans.At(k)
				start, end := int64(s.StartTimestamp()), int64(s.EndTimestamp())
				row := span{
					TraceID:                s.TraceID(),
					SpanID:                 s.SpanID(),
					ParentSpanID:           s.ParentSpanID(),
					TraceState:             s.TraceState().AsRaw(),
					Flags:                  s.Flags(),
					Name:                   s.Name(),
					Kind:                   int32(s.Kind()),
					StartUnixNano:          start,
					DurationNano:           end - start,
					StatusCode:             int32(s.Status().Code()),
					StatusMessage:          s.Status().Message(),
					ServiceName:            service,
					Resource:               resBlob,
					Scope:                  scopeBlob,
					DroppedAttributesCount: s.DroppedAttributesCount(),
					DroppedEventsCount:     s.DroppedEventsCount(),
					DroppedLinksCount:      s.DroppedLinksCount(),
				}
				if n := s.Attributes().Len(); n > 0 {
					first := len(attrs)
					for k, v := range s.Attributes().All() {
						attrs = append(attrs, toAttr(k, v))
						b.memSize += len(k) + len(attrs[len(attrs)-1].Str) + len(attrs[len(attrs)-1].Bytes)
					}
					row.Attrs = attrs[first:len(attrs):len(attrs)]
				}
				if n := s.Events().Len(); n > 0 {
					first := len(events)
					for e := 0; e < n; e++ {
						ev := s.Events().At(e)
						var blob []byte
						if ev.Attributes().Len() > 0 {
							blob = appendMap(nil, ev.Attributes())
						}
						events = append(events, event{
							TimeUnixNano:           int64(ev.Timestamp()),
							Name:                   ev.Name(),
							Attrs:                  blob,
							DroppedAttributesCount: ev.DroppedAttributesCount(),
						})
						b.memSize += len(ev.Name()) + len(blob)
					}
					row.Events = events[first:len(events):len(events)]
				}
				if n := s.Links().Len(); n > 0 {
					first := len(links)
					for l := 0; l < n; l++ {
						ln := s.Links().At(l)
						var blob []byte
						if ln.Attributes().Len() > 0 {
							blob = appendMap(nil, ln.Attributes())
						}
						links = append(links, link{
							TraceID:                ln.TraceID(),
							SpanID:                 ln.SpanID(),
							TraceState:             ln.TraceState().AsRaw(),
							Flags:                  ln.Flags(),
							Attrs:                  blob,
							DroppedAttributesCount: ln.DroppedAttributesCount(),
						})
						b.memSize += len(ln.TraceState().AsRaw()) + len(blob)
					}
					row.Links = links[first:len(links):len(links)]
				}
				b.memSize += len(row.Name) + len(row.StatusMessage) + len(row.TraceState)
				if len(b.rows) == 0 || start < b.minStart {
					b.minStart = start
				}
				if len(b.rows) == 0 || end > b.maxEnd {
					b.maxEnd = end
				}
				b.rows = append(b.rows, row)
			}
		}
	}
}

func growRows(rows []span, n int) []span {
	if cap(rows)-len(rows) >= n {
		return rows
	}
	grown := make([]span, len(rows), len(rows)+n)
	copy(grown, rows)
	return grown
}

// serviceName returns the resource's service.name, the one attribute every
// search filters on. A non-string value is used in its string form.
func serviceName(attrs pcommon.Map) string {
	v, ok := attrs.Get("service.name")
	if !ok {
		return ""
	}
	if v.Type() == pcommon.ValueTypeStr {
		return v.Str()
	}
	return v.AsString()
}

func encodeResource(schemaURL string, r pcommon.Resource) []byte {
	b := appendString(nil, schemaURL)
	b = appendUvarint(b, uint64(r.DroppedAttributesCount()))
	return appendMap(b, r.Attributes())
}

func encodeScope(schemaURL string, s pcommon.InstrumentationScope) []byte {
	b := appendString(nil, schemaURL)
	b = appendString(b, s.Name())
	b = appendString(b, s.Version())
	b = appendUvarint(b, uint64(s.DroppedAttributesCount()))
	return appendMap(b, s.Attributes())
}

func decodeResource(blob []byte, rs ptrace.ResourceSpans) error {
	d := kvDecoder{b: blob}
	rs.SetSchemaUrl(d.string("resource schema URL"))
	rs.Resource().SetDroppedAttributesCount(uint32(d.uvarint("resource dropped attributes count")))
	d.mapInto(rs.Resource().Attributes(), 0)
	if err := d.finish(); err != nil {
		return fmt.Errorf("decode resource: %w", err)
	}
	return nil
}

func decodeScope(blob []byte, ss ptrace.ScopeSpans) error {
	d := kvDecoder{b: blob}
	ss.SetSchemaUrl(d.string("scope schema URL"))
	sc := ss.Scope()
	sc.SetName(d.string("scope name"))
	sc.SetVersion(d.string("scope version"))
	sc.SetDroppedAttributesCount(uint32(d.uvarint("scope dropped attributes count")))
	d.mapInto(sc.Attributes(), 0)
	if err := d.finish(); err != nil {
		return fmt.Errorf("decode scope: %w", err)
	}
	return nil
}

func toAttr(k string, v pcommon.Value) attr {
	a := attr{Key: k}
	switch v.Type() {
	case pcommon.ValueTypeStr:
		a.Type, a.Str = tagString, v.Str()
	case pcommon.ValueTypeBool:
		a.Type = tagBool
		if v.Bool() {
			a.Int = 1
		}
	case pcommon.ValueTypeInt:
		a.Type, a.Int = tagInt, v.Int()
	case pcommon.ValueTypeDouble:
		a.Type, a.Double = tagDouble, v.Double()
	case pcommon.ValueTypeBytes:
		a.Type, a.Bytes = tagBytes, v.Bytes().AsRaw()
	case pcommon.ValueTypeSlice:
		a.Type, a.Bytes = tagArray, appendValue(nil, v)
	case pcommon.ValueTypeMap:
		a.Type, a.Bytes = tagMap, appendValue(nil, v)
	default:
		a.Type = tagEmpty
	}
	return a
}

func (a *attr) putInto(m pcommon.Map) error {
	switch a.Type {
	case tagString:
		m.PutStr(a.Key, a.Str)
	case tagBool:
		m.PutBool(a.Key, a.Int != 0)
	case tagInt:
		m.PutInt(a.Key, a.Int)
	case tagDouble:
		m.PutDouble(a.Key, a.Double)
	case tagBytes:
		m.PutEmptyBytes(a.Key).FromRaw(a.Bytes)
	case tagArray, tagMap:
		if err := decodeValue(a.Bytes, m.PutEmpty(a.Key)); err != nil {
			return fmt.Errorf("attribute %q: %w", a.Key, err)
		}
	case tagEmpty:
		m.PutEmpty(a.Key)
	default:
		return fmt.Errorf("attribute %q: %w: unknown type %d", a.Key, errCorrupt, a.Type)
	}
	return nil
}

// rowsToTraces appends rows to td, grouping spans that share a resource and
// scope under one ResourceSpans and ScopeSpans, in order of first
// appearance.
func rowsToTraces(rows []span, td ptrace.Traces) error {
	type scopeKey struct{ res, scope string }
	resources := map[string]ptrace.ResourceSpans{}
	scopes := map[scopeKey]ptrace.SpanSlice{}
	for i := range rows {
		r := &rows[i]
		spans, ok := scopes[scopeKey{string(r.Resource), string(r.Scope)}]
		if !ok {
			rs, ok := resources[string(r.Resource)]
			if !ok {
				rs = td.ResourceSpans().AppendEmpty()
				if err := decodeResource(r.Resource, rs); err != nil {
					return err
				}
				resources[string(r.Resource)] = rs
			}
			ss := rs.ScopeSpans().AppendEmpty()
			if err := decodeScope(r.Scope, ss); err != nil {
				return err
			}
			spans = ss.Spans()
			scopes[scopeKey{string(r.Resource), string(r.Scope)}] = spans
		}
		if err := r.appendTo(spans); err != nil {
			return err
		}
	}
	return nil
}

func (r *span) appendTo(spans ptrace.SpanSlice) error {
	s := spans.AppendEmpty()
	s.SetTraceID(r.TraceID)
	s.SetSpanID(r.SpanID)
	s.SetParentSpanID(r.ParentSpanID)
	s.TraceState().FromRaw(r.TraceState)
	s.SetFlags(r.Flags)
	s.SetName(r.Name)
	s.SetKind(ptrace.SpanKind(r.Kind))
	s.SetStartTimestamp(pcommon.Timestamp(r.StartUnixNano))
	s.SetEndTimestamp(pcommon.Timestamp(r.StartUnixNano + r.DurationNano))
	s.Status().SetCode(ptrace.StatusCode(r.StatusCode))
	s.Status().SetMessage(r.StatusMessage)
	s.SetDroppedAttributesCount(r.DroppedAttributesCount)
	s.SetDroppedEventsCount(r.DroppedEventsCount)
	s.SetDroppedLinksCount(r.DroppedLinksCount)
	if len(r.Attrs) > 0 {
		m := s.Attributes()
		m.EnsureCapacity(len(r.Attrs))
		for i := range r.Attrs {
			if err := r.Attrs[i].putInto(m); err != nil {
				return err
			}
		}
	}
	if len(r.Events) > 0 {
		evs := s.Events()
		evs.EnsureCapacity(len(r.Events))
		for i := range r.Events {
			e := &r.Events[i]
			ev := evs.AppendEmpty()
			ev.SetTimestamp(pcommon.Timestamp(e.TimeUnixNano))
			ev.SetName(e.Name)
			ev.SetDroppedAttributesCount(e.DroppedAttributesCount)
			if err := decodeMap(e.Attrs, ev.Attributes()); err != nil {
				return fmt.Errorf("event %q attributes: %w", e.Name, err)
			}
		}
	}
	if len(r.Links) > 0 {
		lns := s.Links()
		lns.EnsureCapacity(len(r.Links))
		for i := range r.Links {
			l := &r.Links[i]
			ln := lns.AppendEmpty()
			ln.SetTraceID(l.TraceID)
			ln.SetSpanID(l.SpanID)
			ln.TraceState().FromRaw(l.TraceState)
			ln.SetFlags(l.Flags)
			ln.SetDroppedAttributesCount(l.DroppedAttributesCount)
			if err := decodeMap(l.Attrs, ln.Attributes()); err != nil {
				return fmt.Errorf("link attributes: %w", err)
			}
		}
	}
	return nil
}
