// Package sdktest tests tracelake sampling plugins natively, with go test:
// it encodes batches exactly as wasm/FORMAT.md lays them out (as the host
// would), runs the plugin's registered handler over them through the same
// code path as the tracelake_sample export, and decodes the decisions and
// edits the plugin made.
//
// A plugin's test registers the plugin (its init function already did, in
// package main), configures it with Init, then calls Run:
//
//	if err := sdktest.Init(`{"percent": 10}`); err != nil { ... }
//	res, err := sdktest.Run(sdktest.Batch{Spans: []sdktest.Span{{Name: "GET /"}}})
//	if res.Decisions[0] != sdk.Keep { ... }
//
// It writes only the attributes the plugin declared with sdk.Features, as
// the host does, so a plugin that forgets to declare fails its tests.
package sdktest

import (
	"errors"
	"math"
	"strconv"

	"github.com/tracelake/tracelake/wasm/abi"
	"github.com/tracelake/tracelake/wasm/sdk"
)

// Batch is a batch to encode.
type Batch struct {
	NowUnixNano int64
	Resources   []Resource
	Spans       []Span
	// Contents is which attributes the batch carries (the header's
	// contents bits): Encode writes only those. Run sets it to the
	// plugin's features, as the host does.
	Contents sdk.Feature
	// ReverseSections writes the sections in the reverse of FORMAT.md's
	// order, with padding between them, to test that readers follow the
	// header's offsets.
	ReverseSections bool
}

// Resource is a resource spans refer to by index.
type Resource struct {
	Service string // service.name; "" for none
	Attrs   []Attr
}

// Span is one span. Resource is an index into Batch.Resources; a batch
// without resources gets an empty one.
type Span struct {
	TraceID       [16]byte
	SpanID        [8]byte
	ParentSpanID  [8]byte
	Name          string
	TraceState    string
	StartUnixNano int64
	DurationNano  int64
	Kind          sdk.Kind
	Status        sdk.StatusCode
	Resource      int
	Attrs         []Attr
	Events        uint32
	Flags         uint32
}

// Attr is one attribute.
type Attr struct {
	Key   string
	Value Value
}

// Value is an attribute value; build one with Str, Bool, Int, Double,
// Bytes, Array, Map or Empty.
type Value struct {
	typ     sdk.ValueType
	str     string
	num     uint64
	items   []Value
	entries []Attr
}

// Empty is the empty value.
func Empty() Value { return Value{typ: sdk.TypeEmpty} }

// Str is a string value.
func Str(s string) Value { return Value{typ: sdk.TypeString, str: s} }

// Bool is a bool value.
func Bool(b bool) Value {
	v := Value{typ: sdk.TypeBool}
	if b {
		v.num = 1
	}
	return v
}

// Int is an int value.
func Int(i int64) Value { return Value{typ: sdk.TypeInt, num: uint64(i)} }

// Double is a double value.
func Double(f float64) Value { return Value{typ: sdk.TypeDouble, num: math.Float64bits(f)} }

// Bytes is a bytes value.
func Bytes(b []byte) Value { return Value{typ: sdk.TypeBytes, str: string(b)} }

// Array is an array value.
func Array(items ...Value) Value { return Value{typ: sdk.TypeArray, items: items} }

// Map is a map value.
func Map(entries ...Attr) Value { return Value{typ: sdk.TypeMap, entries: entries} }

// Encode lays the batch out per wasm/FORMAT.md.
func (b Batch) Encode() []byte {
	resources := b.Resources
	if len(resources) == 0 {
		resources = []Resource{{}}
	}
	var (
		attrs []byte // attribute records
		area  []byte // byte area
	)
	put := func(s string) (off, n uint32) {
		off = uint32(len(area))
		area = append(area, s...)
		return off, uint32(len(s))
	}
	putAttrs := func(as []Attr) (first, count uint32) {
		first = uint32(len(attrs) / abi.AttrSize)
		for _, a := range as {
			var r [abi.AttrSize]byte
			ko, kn := put(a.Key)
			le32(r[abi.AttrKeyOff:], ko)
			le32(r[abi.AttrKeyLen:], kn)
			r[abi.AttrType] = byte(a.Value.typ)
			switch a.Value.typ {
			case sdk.TypeString, sdk.TypeBytes:
				o, n := put(a.Value.str)
				le32(r[abi.AttrLen:], n)
				le64(r[abi.AttrValue:], uint64(o))
			case sdk.TypeArray, sdk.TypeMap:
				o, n := put(string(appendKV(nil, a.Value)))
				le32(r[abi.AttrLen:], n)
				le64(r[abi.AttrValue:], uint64(o))
			default:
				le64(r[abi.AttrValue:], a.Value.num)
			}
			attrs = append(attrs, r[:]...)
		}
		return first, uint32(len(as))
	}

	spans := make([]byte, len(b.Spans)*abi.SpanSize)
	for i, s := range b.Spans {
		r := spans[i*abi.SpanSize:][:abi.SpanSize]
		copy(r[abi.SpanTraceID:], s.TraceID[:])
		copy(r[abi.SpanSpanID:], s.SpanID[:])
		copy(r[abi.SpanParentID:], s.ParentSpanID[:])
		le64(r[abi.SpanStart:], uint64(s.StartUnixNano))
		le64(r[abi.SpanDuration:], uint64(s.DurationNano))
		o, n := put(s.Name)
		le32(r[abi.SpanNameOff:], o)
		le32(r[abi.SpanNameLen:], n)
		o, n = put(s.TraceState)
		le32(r[abi.SpanTraceStateOff:], o)
		le32(r[abi.SpanTraceStateLen:], n)
		le32(r[abi.SpanResource:], uint32(s.Resource))
		r[abi.SpanKind] = byte(s.Kind)
		r[abi.SpanStatus] = byte(s.Status)
		if b.Contents&sdk.SpanAttributes != 0 {
			first, count := putAttrs(s.Attrs)
			le32(r[abi.SpanAttrsFirst:], first)
			le32(r[abi.SpanAttrsCount:], count)
		}
		le32(r[abi.SpanEventCount:], s.Events)
		le32(r[abi.SpanFlags:], s.Flags)
	}
	res := make([]byte, len(resources)*abi.ResourceSize)
	for i, rs := range resources {
		r := res[i*abi.ResourceSize:][:abi.ResourceSize]
		o, n := put(rs.Service)
		le32(r[abi.ResServiceOff:], o)
		le32(r[abi.ResServiceLen:], n)
		if b.Contents&sdk.ResourceAttributes != 0 {
			first, count := putAttrs(rs.Attrs)
			le32(r[abi.ResAttrsFirst:], first)
			le32(r[abi.ResAttrsCount:], count)
		}
	}

	sections := [][]byte{spans, res, attrs, area, make([]byte, len(b.Spans))}
	offsets := make([]uint32, len(sections))
	buf := make([]byte, abi.HeaderSize)
	order := []int{0, 1, 2, 3, 4}
	if b.ReverseSections {
		order = []int{4, 3, 2, 1, 0}
	}
	for _, i := range order {
		if b.ReverseSections {
			buf = append(buf, 0xee, 0xee, 0xee) // garbage between sections
		}
		buf = append(buf, make([]byte, int(abi.Align8(uint32(len(buf))))-len(buf))...)
		offsets[i] = uint32(len(buf))
		buf = append(buf, sections[i]...)
	}
	buf = append(buf, make([]byte, int(abi.Align8(uint32(len(buf))))-len(buf))...)

	le32(buf[abi.HdrMagic:], abi.Magic)
	le32(buf[abi.HdrVersion:], abi.Version)
	le32(buf[abi.HdrSpanCount:], uint32(len(b.Spans)))
	le32(buf[abi.HdrResourceCount:], uint32(len(resources)))
	le32(buf[abi.HdrAttrCount:], uint32(len(attrs)/abi.AttrSize))
	le32(buf[abi.HdrSpansOffset:], offsets[0])
	le32(buf[abi.HdrResourceOffset:], offsets[1])
	le32(buf[abi.HdrAttrsOffset:], offsets[2])
	le32(buf[abi.HdrBytesOffset:], offsets[3])
	le32(buf[abi.HdrBytesLen:], uint32(len(area)))
	le32(buf[abi.HdrDecisions:], offsets[4])
	le32(buf[abi.HdrContents:], uint32(b.Contents))
	le64(buf[abi.HdrNow:], uint64(b.NowUnixNano))
	return buf
}

// appendKV appends v in the kv encoding.
func appendKV(b []byte, v Value) []byte {
	b = append(b, byte(v.typ))
	switch v.typ {
	case sdk.TypeString, sdk.TypeBytes:
		b = appendUvarint(b, uint64(len(v.str)))
		b = append(b, v.str...)
	case sdk.TypeBool:
		b = append(b, byte(v.num))
	case sdk.TypeInt:
		i := int64(v.num)
		b = appendUvarint(b, uint64(i<<1)^uint64(i>>63))
	case sdk.TypeDouble:
		var d [8]byte
		le64(d[:], v.num)
		b = append(b, d[:]...)
	case sdk.TypeArray:
		b = appendUvarint(b, uint64(len(v.items)))
		for _, e := range v.items {
			b = appendKV(b, e)
		}
	case sdk.TypeMap:
		b = appendUvarint(b, uint64(len(v.entries)))
		for _, e := range v.entries {
			b = appendUvarint(b, uint64(len(e.Key)))
			b = append(b, e.Key...)
			b = appendKV(b, e.Value)
		}
	}
	return b
}

func appendUvarint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// Op is an edit operation.
type Op uint8

// Edit operations.
const (
	OpDeleteAttr    Op = abi.OpDeleteAttr
	OpSetAttr       Op = abi.OpSetAttr
	OpSetTraceState Op = abi.OpSetTraceState
)

// Edit is one decoded edit record.
type Edit struct {
	Span  int
	Op    Op
	Key   string // OpDeleteAttr, OpSetAttr
	Value string // OpSetAttr, OpSetTraceState
}

// Result is what a plugin did to a batch.
type Result struct {
	Decisions []sdk.Decision
	Edits     []Edit
}

// Kept lists the indexes of the kept spans.
func (r Result) Kept() []int {
	var kept []int
	for i, d := range r.Decisions {
		if d == sdk.Keep {
			kept = append(kept, i)
		}
	}
	return kept
}

// Init configures the registered plugin, as tracelake_init does.
func Init(config string) error { return sdk.Registered().Init([]byte(config)) }

// Run encodes b with the attributes the registered plugin declared, runs
// the plugin over it, and decodes its decisions and edits, checking them
// as the host does: a decision other than keep or drop, or a malformed
// edit, is an error.
func Run(b Batch) (Result, error) {
	p := sdk.Registered()
	b.Contents = p.Features()
	return RunEncoded(b.Encode())
}

// RunEncoded runs the registered plugin over an encoded batch.
func RunEncoded(buf []byte) (Result, error) {
	recs, data, err := sdk.Registered().Sample(buf)
	if err != nil {
		return Result{}, err
	}
	n := int(u32(buf[abi.HdrSpanCount:]))
	dec := buf[u32(buf[abi.HdrDecisions:]):][:n]
	var res Result
	for i, d := range dec {
		if d != abi.Keep && d != abi.Drop {
			return Result{}, errors.New("span " + strconv.Itoa(i) + ": decision " + strconv.Itoa(int(d)) + " is neither keep nor drop")
		}
		res.Decisions = append(res.Decisions, sdk.Decision(d))
	}
	if len(recs)%abi.EditSize != 0 {
		return Result{}, errors.New("edit list of " + strconv.Itoa(len(recs)) + " bytes is not a multiple of " + strconv.Itoa(abi.EditSize))
	}
	str := func(ptr, n uint32) (string, error) {
		if uint64(ptr)+uint64(n) > uint64(len(data)) {
			return "", errors.New("edit points outside the plugin's edit data")
		}
		return string(data[ptr : ptr+n]), nil
	}
	for r := recs; len(r) > 0; r = r[abi.EditSize:] {
		e := Edit{Span: int(u32(r[abi.EditSpan:])), Op: Op(r[abi.EditOp])}
		if e.Span >= n {
			return Result{}, errors.New("edit of span " + strconv.Itoa(e.Span) + " in a batch of " + strconv.Itoa(n))
		}
		if r[5] != 0 || r[6] != 0 || r[7] != 0 {
			return Result{}, errors.New("edit with non-zero reserved bytes")
		}
		var kerr, verr error
		switch e.Op {
		case OpDeleteAttr:
			e.Key, kerr = str(u32(r[abi.EditKeyPtr:]), u32(r[abi.EditKeyLen:]))
		case OpSetAttr:
			e.Key, kerr = str(u32(r[abi.EditKeyPtr:]), u32(r[abi.EditKeyLen:]))
			e.Value, verr = str(u32(r[abi.EditValuePtr:]), u32(r[abi.EditValueLen:]))
		case OpSetTraceState:
			e.Value, verr = str(u32(r[abi.EditValuePtr:]), u32(r[abi.EditValueLen:]))
		default:
			return Result{}, errors.New("unknown edit operation " + strconv.Itoa(int(e.Op)))
		}
		if err := errors.Join(kerr, verr); err != nil {
			return Result{}, err
		}
		res.Edits = append(res.Edits, e)
	}
	return res, nil
}

func u32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

func le32(b []byte, v uint32) {
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
}

func le64(b []byte, v uint64) {
	le32(b, uint32(v))
	le32(b[4:], uint32(v>>32))
}
