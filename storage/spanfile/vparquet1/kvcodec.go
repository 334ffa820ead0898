package vparquet1

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// The kv codec is a compact, deterministic binary encoding of OTLP
// attribute maps and values. It stores what has no column of its own:
// resources, scopes, event and link attributes, and array/map attribute
// values. FORMAT.md documents it byte by byte.

// Value type tags. They are part of the persisted format: never renumber.
const (
	tagEmpty  = 0
	tagString = 1
	tagBool   = 2
	tagInt    = 3
	tagDouble = 4
	tagBytes  = 5
	tagArray  = 6
	tagMap    = 7
)

// maxDepth bounds nesting when decoding, so a corrupt or hostile blob
// cannot exhaust the stack.
const maxDepth = 64

var errCorrupt = errors.New("corrupt kv blob")

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// appendMap encodes m as uvarint(count) followed by (string key, value) pairs
// in m's order. Order is preserved so a round trip is exact.
func appendMap(b []byte, m pcommon.Map) []byte {
	b = appendUvarint(b, uint64(m.Len()))
	for k, v := range m.All() {
		b = appendString(b, k)
		b = appendValue(b, v)
	}
	return b
}

func appendValue(b []byte, v pcommon.Value) []byte {
	switch v.Type() {
	case pcommon.ValueTypeStr:
		b = append(b, tagString)
		b = appendString(b, v.Str())
	case pcommon.ValueTypeBool:
		b = append(b, tagBool)
		if v.Bool() {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	case pcommon.ValueTypeInt:
		b = append(b, tagInt)
		b = binary.AppendVarint(b, v.Int())
	case pcommon.ValueTypeDouble:
		b = append(b, tagDouble)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Double()))
	case pcommon.ValueTypeBytes:
		b = append(b, tagBytes)
		raw := v.Bytes().AsRaw()
		b = appendUvarint(b, uint64(len(raw)))
		b = append(b, raw...)
	case pcommon.ValueTypeSlice:
		b = append(b, tagArray)
		s := v.Slice()
		b = appendUvarint(b, uint64(s.Len()))
		for i := 0; i < s.Len(); i++ {
			b = appendValue(b, s.At(i))
		}
	case pcommon.ValueTypeMap:
		b = append(b, tagMap)
		b = appendMap(b, v.Map())
	default:
		b = append(b, tagEmpty)
	}
	return b
}

// kvDecoder reads a blob produced by the append functions.
type kvDecoder struct {
	b   []byte
	err error
}

func (d *kvDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: truncated or invalid %s", errCorrupt, what)
	}
}

func (d *kvDecoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *kvDecoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *kvDecoder) bytes(what string) []byte {
	n := d.uvarint(what)
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.fail(what)
		return nil
	}
	out := d.b[:n:n]
	d.b = d.b[n:]
	return out
}

func (d *kvDecoder) string(what string) string { return string(d.bytes(what)) }

func (d *kvDecoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.fail(what)
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

// count reads an element count and rejects counts that cannot fit in the
// remaining bytes (each element takes at least one byte), so a corrupt
// count cannot trigger a huge allocation.
func (d *kvDecoder) count(what string) int {
	n := d.uvarint(what)
	if d.err == nil && n > uint64(len(d.b)) {
		d.fail(what)
		return 0
	}
	return int(n)
}

func (d *kvDecoder) mapInto(m pcommon.Map, depth int) {
	if depth > maxDepth {
		d.fail("map (nested too deep)")
		return
	}
	n := d.count("map length")
	m.EnsureCapacity(n)
	for i := 0; i < n && d.err == nil; i++ {
		k := d.string("map key")
		d.valueInto(m.PutEmpty(k), depth+1)
	}
}

func (d *kvDecoder) valueInto(v pcommon.Value, depth int) {
	if depth > maxDepth {
		d.fail("value (nested too deep)")
		return
	}
	switch tag := d.byte("value tag"); tag {
	case tagEmpty:
	case tagString:
		v.SetStr(d.string("string value"))
	case tagBool:
		v.SetBool(d.byte("bool value") != 0)
	case tagInt:
		v.SetInt(d.varint("int value"))
	case tagDouble:
		if len(d.b) < 8 {
			d.fail("double value")
			return
		}
		v.SetDouble(math.Float64frombits(binary.LittleEndian.Uint64(d.b)))
		d.b = d.b[8:]
	case tagBytes:
		v.SetEmptyBytes().FromRaw(d.bytes("bytes value"))
	case tagArray:
		s := v.SetEmptySlice()
		n := d.count("array length")
		s.EnsureCapacity(n)
		for i := 0; i < n && d.err == nil; i++ {
			d.valueInto(s.AppendEmpty(), depth+1)
		}
	case tagMap:
		d.mapInto(v.SetEmptyMap(), depth+1)
	default:
		if d.err == nil {
			d.err = fmt.Errorf("%w: unknown value tag %d", errCorrupt, tag)
		}
	}
}

// decodeMap decodes a blob holding exactly one encoded map into m.
func decodeMap(blob []byte, m pcommon.Map) error {
	if len(blob) == 0 {
		return nil
	}
	d := kvDecoder{b: blob}
	d.mapInto(m, 0)
	return d.finish()
}

// decodeValue decodes a blob holding exactly one encoded value into v.
func decodeValue(blob []byte, v pcommon.Value) error {
	d := kvDecoder{b: blob}
	d.valueInto(v, 0)
	return d.finish()
}

func (d *kvDecoder) finish() error {
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(d.b))
	}
	return d.err
}
