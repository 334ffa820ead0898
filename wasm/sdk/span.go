package sdk

import (
	"iter"
	"strconv"
	"unsafe"

	"github.com/tracelake/tracelake/wasm/abi"
)

// Kind is a span's kind, as in OTLP.
type Kind uint8

// Span kinds.
const (
	KindUnspecified Kind = 0
	KindInternal    Kind = 1
	KindServer      Kind = 2
	KindClient      Kind = 3
	KindProducer    Kind = 4
	KindConsumer    Kind = 5
)

var kindNames = [...]string{"unspecified", "internal", "server", "client", "producer", "consumer"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// StatusCode is a span's status code, as in OTLP.
type StatusCode uint8

// Status codes.
const (
	StatusUnset StatusCode = 0
	StatusOK    StatusCode = 1
	StatusError StatusCode = 2
)

var statusNames = [...]string{"unset", "ok", "error"}

func (c StatusCode) String() string {
	if int(c) < len(statusNames) {
		return statusNames[c]
	}
	return "StatusCode(" + strconv.Itoa(int(c)) + ")"
}

// Span is a view of one span of a batch. It is a small value, cheap to
// pass; like everything read from a Batch it is valid only during the
// call that received it, and so are the strings and Values it returns.
type Span struct {
	b   *Batch
	rec *[abi.SpanSize]byte
	i   int
}

// Index is the span's position in its batch.
func (s Span) Index() int { return s.i }

// Batch is the batch the span belongs to.
func (s Span) Batch() *Batch { return s.b }

// TraceID is the span's 16-byte trace ID.
func (s Span) TraceID() [16]byte { return [16]byte(s.rec[abi.SpanTraceID:]) }

// SpanID is the span's 8-byte ID.
func (s Span) SpanID() [8]byte { return [8]byte(s.rec[abi.SpanSpanID:]) }

// ParentSpanID is the parent's span ID, all zero for a root span.
func (s Span) ParentSpanID() [8]byte { return [8]byte(s.rec[abi.SpanParentID:]) }

// IsRoot reports whether the span has no parent.
func (s Span) IsRoot() bool { return le64(s.rec[abi.SpanParentID:]) == 0 }

// Name is the span's name. Zero-copy: valid only during the call.
func (s Span) Name() string {
	return s.b.str(le32(s.rec[abi.SpanNameOff:]), le32(s.rec[abi.SpanNameLen:]), "span name outside the byte area")
}

// TraceState is the span's W3C trace state ("" when it has none).
// Zero-copy: valid only during the call.
func (s Span) TraceState() string {
	n := le32(s.rec[abi.SpanTraceStateLen:])
	if n == 0 {
		return ""
	}
	return s.b.str(le32(s.rec[abi.SpanTraceStateOff:]), n, "trace state outside the byte area")
}

// Kind is the span's kind.
func (s Span) Kind() Kind { return Kind(s.rec[abi.SpanKind]) }

// StatusCode is the span's status code.
func (s Span) StatusCode() StatusCode { return StatusCode(s.rec[abi.SpanStatus]) }

// StartUnixNano is the span's start time in Unix nanoseconds.
func (s Span) StartUnixNano() int64 { return int64(le64(s.rec[abi.SpanStart:])) }

// DurationNano is the span's end time minus its start time, in
// nanoseconds, as sent: it may be negative. (It is not a time.Duration
// because importing package time adds a quarter of a megabyte to a
// plugin; time.Duration(s.DurationNano()) converts.)
func (s Span) DurationNano() int64 { return int64(le64(s.rec[abi.SpanDuration:])) }

// EventCount is the number of events the span carries.
func (s Span) EventCount() int { return int(le32(s.rec[abi.SpanEventCount:])) }

// Flags are the span's OTLP flags (the low 8 bits are the W3C trace
// flags).
func (s Span) Flags() uint32 { return le32(s.rec[abi.SpanFlags:]) }

// ResourceIndex is the index of the span's resource in the batch: spans
// with equal indexes share a resource, so per-resource work (looking up
// state by service) can be done once per resource, not per span.
func (s Span) ResourceIndex() int { return int(le32(s.rec[abi.SpanResource:])) }

// Service is the service.name of the span's resource ("" when it has
// none). Zero-copy: valid only during the call.
func (s Span) Service() string { return s.b.service(le32(s.rec[abi.SpanResource:])) }

func (b *Batch) service(ri uint32) string {
	off := uint64(ri) * abi.ResourceSize
	if off+abi.ResourceSize > uint64(len(b.resources)) {
		b.faulted("resource index out of range")
		return ""
	}
	r := (*[abi.ResourceSize]byte)(b.resources[off:])
	return b.str(le32(r[abi.ResServiceOff:]), le32(r[abi.ResServiceLen:]), "service name outside the byte area")
}

// records is a run of attribute records, checked to lie in the attribute
// section.
type records struct {
	p unsafe.Pointer
	n int
}

// at returns the i-th record; i must be in range.
func (rs records) at(i int) *[abi.AttrSize]byte {
	return (*[abi.AttrSize]byte)(unsafe.Add(rs.p, i*abi.AttrSize))
}

// records returns the attribute records [first, first+count), noting when
// the batch carries none of feature f because the plugin did not ask.
func (b *Batch) records(first, count uint32, f Feature) records {
	if Feature(b.contents)&f == 0 {
		b.missing |= f
		return records{}
	}
	if (uint64(first)+uint64(count))*abi.AttrSize > uint64(len(b.attrs)) {
		b.faulted("attribute range outside the attribute section")
		return records{}
	}
	return records{unsafe.Add(b.attrsPtr, uintptr(first)*abi.AttrSize), int(count)}
}

// resourceRecords returns the attribute records of resource ri.
func (b *Batch) resourceRecords(ri uint32) records {
	if Feature(b.contents)&ResourceAttributes == 0 {
		b.missing |= ResourceAttributes
		return records{}
	}
	off := uint64(ri) * abi.ResourceSize
	if off+abi.ResourceSize > uint64(len(b.resources)) {
		b.faulted("resource index out of range")
		return records{}
	}
	r := (*[abi.ResourceSize]byte)(b.resources[off:])
	return b.records(le32(r[abi.ResAttrsFirst:]), le32(r[abi.ResAttrsCount:]), ResourceAttributes)
}

// Attr returns the value of the span's first attribute named key. The
// plugin must have declared SpanAttributes (see Features): reading
// attributes the host did not write fails the batch.
func (s Span) Attr(key string) (Value, bool) { return s.b.find(s.spanRecords(), key) }

// AttrCount is the number of span attributes.
func (s Span) AttrCount() int { return s.spanRecords().n }

// AttrAt returns the i-th span attribute, in the order the span carries
// them. It panics if i is out of range.
func (s Span) AttrAt(i int) (key string, v Value) {
	return s.b.attrAt(s.spanRecords(), i)
}

// Attrs iterates over the span's attributes in order. Keys and values are
// zero-copy.
func (s Span) Attrs() iter.Seq2[string, Value] {
	// Small enough to be inlined, so that the closure does not escape:
	// ranging over Attrs allocates nothing.
	return func(yield func(string, Value) bool) { s.b.each(s.spanRecords(), yield) }
}

func (s Span) spanRecords() records {
	return s.b.records(le32(s.rec[abi.SpanAttrsFirst:]), le32(s.rec[abi.SpanAttrsCount:]), SpanAttributes)
}

// ResourceAttr returns the value of the first attribute named key of the
// span's resource. The plugin must have declared ResourceAttributes.
func (s Span) ResourceAttr(key string) (Value, bool) {
	return s.b.find(s.b.resourceRecords(le32(s.rec[abi.SpanResource:])), key)
}

// ResourceAttrCount is the number of attributes of the span's resource.
func (s Span) ResourceAttrCount() int { return s.b.resourceRecords(le32(s.rec[abi.SpanResource:])).n }

// ResourceAttrAt returns the i-th attribute of the span's resource. It
// panics if i is out of range.
func (s Span) ResourceAttrAt(i int) (key string, v Value) {
	return s.b.attrAt(s.b.resourceRecords(le32(s.rec[abi.SpanResource:])), i)
}

// ResourceAttrs iterates over the attributes of the span's resource.
func (s Span) ResourceAttrs() iter.Seq2[string, Value] {
	return func(yield func(string, Value) bool) {
		s.b.each(s.b.resourceRecords(le32(s.rec[abi.SpanResource:])), yield)
	}
}

// Calls and taken branches are what cost in Go's WebAssembly: each goes
// through the function's dispatch table, some 10–30 ns. So each attribute
// operation is one call, in which checking the records, comparing keys
// (lengths first) and decoding values are inlined.

// find returns the value of the first record of rs whose key is key.
func (b *Batch) find(rs records, key string) (Value, bool) {
	n := uint32(len(key))
	for i := range rs.n {
		r := rs.at(i)
		if le32(r[abi.AttrKeyLen:]) == n && b.str(le32(r[abi.AttrKeyOff:]), n, "attribute key outside the byte area") == key {
			return b.value(r), true
		}
	}
	return Value{}, false
}

// attrAt decodes the i-th record of rs.
func (b *Batch) attrAt(rs records, i int) (string, Value) {
	if uint(i) >= uint(rs.n) {
		panic("sdk: attribute index " + strconv.Itoa(i) + " out of range [0," + strconv.Itoa(rs.n) + ")")
	}
	r := rs.at(i)
	return b.str(le32(r[abi.AttrKeyOff:]), le32(r[abi.AttrKeyLen:]), "attribute key outside the byte area"), b.value(r)
}

// each calls yield for each record of rs until it returns false.
func (b *Batch) each(rs records, yield func(string, Value) bool) {
	for i := range rs.n {
		r := rs.at(i)
		if !yield(b.str(le32(r[abi.AttrKeyOff:]), le32(r[abi.AttrKeyLen:]), "attribute key outside the byte area"), b.value(r)) {
			return
		}
	}
}

// rawTypes are the value types whose record points into the byte area.
const rawTypes = 1<<TypeString | 1<<TypeBytes | 1<<TypeArray | 1<<TypeMap

// value decodes an attribute record's value.
func (b *Batch) value(r *[abi.AttrSize]byte) Value {
	v := Value{n: le64(r[abi.AttrValue:]), typ: ValueType(r[abi.AttrType])}
	if v.typ > TypeMap {
		return b.badValue("attribute of unknown type")
	}
	if rawTypes>>v.typ&1 != 0 {
		off, n := uint32(v.n), le32(r[abi.AttrLen:])
		if uint64(off)+uint64(n) > uint64(len(b.bytes)) {
			return b.badValue("attribute value outside the byte area")
		}
		v.p, v.n = unsafe.Add(b.bytesPtr, off), uint64(n)
	}
	return v
}

func (b *Batch) badValue(what string) Value {
	b.faulted(what)
	return Value{}
}

// DeleteAttr deletes every span attribute named key, once the call
// returns (if the span is kept). Edits are applied in the order they are
// made.
func (s Span) DeleteAttr(key string) { s.b.edits.add(uint32(s.i), abi.OpDeleteAttr, key, "") }

// SetAttr sets the span attribute key to the string value, replacing
// every attribute named key or adding one, once the call returns (if the
// span is kept). key and value are copied: they may point anywhere,
// including into the batch.
func (s Span) SetAttr(key, value string) { s.b.edits.add(uint32(s.i), abi.OpSetAttr, key, value) }

// SetTraceState replaces the span's W3C trace state, once the call
// returns (if the span is kept).
func (s Span) SetTraceState(ts string) { s.b.edits.add(uint32(s.i), abi.OpSetTraceState, "", ts) }
