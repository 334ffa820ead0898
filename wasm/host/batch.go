package host

import (
	"encoding/binary"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/wasm/abi"
)

var le = binary.LittleEndian

// flatSpan is one span of a batch and the index of its resource in the
// request.
type flatSpan struct {
	span ptrace.Span
	res  int
}

// flatten lists td's spans in order, with their resources.
func flatten(td ptrace.Traces, spans []flatSpan, resources []pcommon.Resource) ([]flatSpan, []pcommon.Resource) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		resources = append(resources, rs.Resource())
		ri := len(resources) - 1
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j).Spans()
			for k := 0; k < ss.Len(); k++ {
				spans = append(spans, flatSpan{span: ss.At(k), res: ri})
			}
		}
	}
	return spans, resources
}

// layout is the shape of one batch: section offsets and sizes, computed
// before anything is written so the guest buffer is allocated once.
type layout struct {
	spans, resources, attrs int
	bytesLen                int
	spansOff, resOff        uint32
	attrsOff, bytesOff      uint32
	decisionsOff, total     uint32
	contents                uint32
}

// batchWriter writes batches per wasm/FORMAT.md. It is reused across
// batches by one instance at a time.
type batchWriter struct {
	// resIndex maps a resource's index in the request to its index in the
	// current batch (-1: not in it); resource indexes are dense, so a
	// slice does what a map would, at a fraction of the cost per span.
	resIndex []int32
	resOrder []int
	scratch  []byte // kv encoding of array and map values
}

func newBatchWriter() *batchWriter { return &batchWriter{} }

// plan computes the layout of the batch holding spans, with the
// attributes features asks for.
func (w *batchWriter) plan(spans []flatSpan, resources []pcommon.Resource, features uint32) layout {
	if cap(w.resIndex) < len(resources) {
		w.resIndex = make([]int32, len(resources))
	}
	w.resIndex = w.resIndex[:len(resources)]
	for i := range w.resIndex {
		w.resIndex[i] = -1
	}
	w.resOrder = w.resOrder[:0]
	var l layout
	l.spans = len(spans)
	l.contents = features & abi.FeaturesAll
	for _, fs := range spans {
		s := fs.span
		l.bytesLen += len(s.Name()) + len(s.TraceState().AsRaw())
		if w.resIndex[fs.res] < 0 {
			w.resIndex[fs.res] = int32(len(w.resOrder))
			w.resOrder = append(w.resOrder, fs.res)
		}
		if features&abi.FeatureSpanAttributes != 0 {
			l.attrs += s.Attributes().Len()
			l.bytesLen += w.attrBytes(s.Attributes())
		}
	}
	l.resources = len(w.resOrder)
	for _, ri := range w.resOrder {
		attrs := resources[ri].Attributes()
		if v, ok := attrs.Get("service.name"); ok && v.Type() == pcommon.ValueTypeStr {
			l.bytesLen += len(v.Str())
		}
		if features&abi.FeatureResourceAttributes != 0 {
			l.attrs += attrs.Len()
			l.bytesLen += w.attrBytes(attrs)
		}
	}
	l.spansOff = abi.HeaderSize
	l.resOff = abi.Align8(l.spansOff + uint32(l.spans)*abi.SpanSize)
	l.attrsOff = abi.Align8(l.resOff + uint32(l.resources)*abi.ResourceSize)
	l.bytesOff = abi.Align8(l.attrsOff + uint32(l.attrs)*abi.AttrSize)
	l.decisionsOff = abi.Align8(l.bytesOff + uint32(l.bytesLen))
	l.total = abi.Align8(l.decisionsOff + uint32(l.spans))
	return l
}

// attrBytes is what m's keys and values take in the byte area.
func (w *batchWriter) attrBytes(m pcommon.Map) int {
	n := 0
	for k, v := range m.All() {
		n += len(k)
		switch v.Type() {
		case pcommon.ValueTypeStr:
			n += len(v.Str())
		case pcommon.ValueTypeBytes:
			n += v.Bytes().Len()
		case pcommon.ValueTypeSlice, pcommon.ValueTypeMap:
			w.scratch = appendValue(w.scratch[:0], v)
			n += len(w.scratch)
		}
	}
	return n
}

// write encodes the batch into b (len(b) ≥ l.total), which is the guest's
// memory: every byte of the batch is written, so stale content from an
// earlier batch never shows through.
func (w *batchWriter) write(b []byte, l layout, spans []flatSpan, resources []pcommon.Resource, now int64) {
	le.PutUint32(b[abi.HdrMagic:], abi.Magic)
	le.PutUint32(b[abi.HdrVersion:], abi.Version)
	le.PutUint32(b[abi.HdrSpanCount:], uint32(l.spans))
	le.PutUint32(b[abi.HdrResourceCount:], uint32(l.resources))
	le.PutUint32(b[abi.HdrAttrCount:], uint32(l.attrs))
	le.PutUint32(b[abi.HdrSpansOffset:], l.spansOff)
	le.PutUint32(b[abi.HdrResourceOffset:], l.resOff)
	le.PutUint32(b[abi.HdrAttrsOffset:], l.attrsOff)
	le.PutUint32(b[abi.HdrBytesOffset:], l.bytesOff)
	le.PutUint32(b[abi.HdrBytesLen:], uint32(l.bytesLen))
	le.PutUint32(b[abi.HdrDecisions:], l.decisionsOff)
	le.PutUint32(b[abi.HdrContents:], l.contents)
	le.PutUint64(b[abi.HdrNow:], uint64(now))
	le.PutUint64(b[56:], 0)

	bp := l.bytesOff // next free byte in the byte area
	putBytes := func(s string) (off, n uint32) {
		off = bp - l.bytesOff
		copy(b[bp:], s)
		bp += uint32(len(s))
		return off, uint32(len(s))
	}
	ai := uint32(0) // next attribute record
	putAttrs := func(m pcommon.Map) (first, count uint32) {
		first = ai
		for k, v := range m.All() {
			r := b[l.attrsOff+ai*abi.AttrSize:][:abi.AttrSize]
			ko, kn := putBytes(k)
			le.PutUint32(r[abi.AttrKeyOff:], ko)
			le.PutUint32(r[abi.AttrKeyLen:], kn)
			r[9], r[10], r[11] = 0, 0, 0
			var typ byte
			var vlen uint32
			var val uint64
			switch v.Type() {
			case pcommon.ValueTypeStr:
				typ = abi.TypeString
				o, n := putBytes(v.Str())
				val, vlen = uint64(o), n
			case pcommon.ValueTypeBool:
				typ = abi.TypeBool
				if v.Bool() {
					val = 1
				}
			case pcommon.ValueTypeInt:
				typ, val = abi.TypeInt, uint64(v.Int())
			case pcommon.ValueTypeDouble:
				typ, val = abi.TypeDouble, math.Float64bits(v.Double())
			case pcommon.ValueTypeBytes:
				typ = abi.TypeBytes
				raw := v.Bytes()
				o := bp - l.bytesOff
				for i := 0; i < raw.Len(); i++ {
					b[bp+uint32(i)] = raw.At(i)
				}
				bp += uint32(raw.Len())
				val, vlen = uint64(o), uint32(raw.Len())
			case pcommon.ValueTypeSlice, pcommon.ValueTypeMap:
				typ = abi.TypeArray
				if v.Type() == pcommon.ValueTypeMap {
					typ = abi.TypeMap
				}
				w.scratch = appendValue(w.scratch[:0], v)
				o := bp - l.bytesOff
				copy(b[bp:], w.scratch)
				bp += uint32(len(w.scratch))
				val, vlen = uint64(o), uint32(len(w.scratch))
			default:
				typ = abi.TypeEmpty
			}
			r[abi.AttrType] = typ
			le.PutUint32(r[abi.AttrLen:], vlen)
			le.PutUint64(r[abi.AttrValue:], val)
			ai++
		}
		return first, ai - first
	}

	for i, ri := range w.resOrder {
		r := b[l.resOff+uint32(i)*abi.ResourceSize:][:abi.ResourceSize]
		attrs := resources[ri].Attributes()
		var so, sn uint32
		if v, ok := attrs.Get("service.name"); ok && v.Type() == pcommon.ValueTypeStr {
			so, sn = putBytes(v.Str())
		}
		le.PutUint32(r[abi.ResServiceOff:], so)
		le.PutUint32(r[abi.ResServiceLen:], sn)
		var first, count uint32
		if l.contents&abi.FeatureResourceAttributes != 0 {
			first, count = putAttrs(attrs)
		}
		le.PutUint32(r[abi.ResAttrsFirst:], first)
		le.PutUint32(r[abi.ResAttrsCount:], count)
	}
	// The span loop is the hot path (every span of every request): records
	// are written through fixed-size array pointers so the stores need no
	// bounds checks, and strings are copied inline.
	for i, fs := range spans {
		s := fs.span
		r := (*[abi.SpanSize]byte)(b[l.spansOff+uint32(i)*abi.SpanSize:])
		tid, sid, pid := s.TraceID(), s.SpanID(), s.ParentSpanID()
		*(*[16]byte)(r[abi.SpanTraceID:]) = tid
		*(*[8]byte)(r[abi.SpanSpanID:]) = sid
		*(*[8]byte)(r[abi.SpanParentID:]) = pid
		start, end := int64(s.StartTimestamp()), int64(s.EndTimestamp())
		le.PutUint64(r[abi.SpanStart:], uint64(start))
		le.PutUint64(r[abi.SpanDuration:], uint64(end-start))
		name, ts := s.Name(), s.TraceState().AsRaw()
		le.PutUint32(r[abi.SpanNameOff:], bp-l.bytesOff)
		le.PutUint32(r[abi.SpanNameLen:], uint32(len(name)))
		bp += uint32(copy(b[bp:], name))
		le.PutUint32(r[abi.SpanTraceStateOff:], bp-l.bytesOff)
		le.PutUint32(r[abi.SpanTraceStateLen:], uint32(len(ts)))
		bp += uint32(copy(b[bp:], ts))
		le.PutUint32(r[abi.SpanResource:], uint32(w.resIndex[fs.res]))
		r[abi.SpanKind] = byte(s.Kind())
		r[abi.SpanStatus] = byte(s.Status().Code())
		r[70], r[71] = 0, 0
		var first, count uint32
		if l.contents&abi.FeatureSpanAttributes != 0 {
			first, count = putAttrs(s.Attributes())
		}
		le.PutUint32(r[abi.SpanAttrsFirst:], first)
		le.PutUint32(r[abi.SpanAttrsCount:], count)
		le.PutUint32(r[abi.SpanEventCount:], uint32(s.Events().Len()))
		le.PutUint32(r[abi.SpanFlags:], s.Flags())
	}
	// Zero the alignment padding, then the decisions: every decision
	// starts as keep.
	clear(b[bp:l.total])
}

// appendValue is the ABI's kv encoding of a value (wasm/FORMAT.md). It is
// the same encoding vparquet1 stores complex values in, but the ABI owns
// its own copy: plugins must not depend on a storage format.
func appendValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		b = append(b, abi.TypeString)
		b = binary.AppendUvarint(b, uint64(len(v.Str())))
		b = append(b, v.Str()...)
	case pcommon.ValueTypeBool:
		b = append(b, abi.TypeBool)
		if v.Bool() {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	case pcommon.ValueTypeInt:
		b = append(b, abi.TypeInt)
		b = binary.AppendVarint(b, v.Int())
	case pcommon.ValueTypeDouble:
		b = append(b, abi.TypeDouble)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBytes:
		b = append(b, abi.TypeBytes)
		b = binary.AppendUvarint(b, uint64(v.Bytes().Len()))
		b = append(b, v.Bytes().AsRaw()...)
	case pcommon.ValueTypeSlice:
		b = append(b, abi.TypeArray)
		s := v.Slice()
		b = binary.AppendUvarint(b, uint64(s.Len()))
		for i := 0; i < s.Len(); i++ {
			b = appendValue(b, s.At(i))
		}
	case pcommon.ValueTypeMap:
		b = append(b, abi.TypeMap)
		m := v.Map()
		b = binary.AppendUvarint(b, uint64(m.Len()))
		for k, e := range m.All() {
			b = binary.AppendUvarint(b, uint64(len(k)))
			b = append(b, k...)
			b = appendValue(b, e)
		}
	default:
		b = append(b, abi.TypeEmpty)
	}
	return b
}
