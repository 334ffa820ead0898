package sdk

import (
	"encoding/base64"
	"iter"
	"math"
	"strconv"
	"unicode/utf8"
	"unsafe"

	"github.com/tracelake/tracelake/wasm/abi"
)

// ValueType is the type of an attribute value.
type ValueType uint8

// Value types, as in OTLP's AnyValue.
const (
	TypeEmpty  ValueType = abi.TypeEmpty
	TypeString ValueType = abi.TypeString
	TypeBool   ValueType = abi.TypeBool
	TypeInt    ValueType = abi.TypeInt
	TypeDouble ValueType = abi.TypeDouble
	TypeBytes  ValueType = abi.TypeBytes
	TypeArray  ValueType = abi.TypeArray
	TypeMap    ValueType = abi.TypeMap
)

var typeNames = [...]string{"empty", "string", "bool", "int", "double", "bytes", "array", "map"}

func (t ValueType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return "ValueType(" + strconv.Itoa(int(t)) + ")"
}

// Value is an attribute value. Like everything read from a batch it points
// into the batch and is valid only during the call.
//
// The typed accessors return the zero value when the type differs: check
// Type first, or use AsString.
type Value struct {
	// p points at the bytes of strings and bytes values, and at the kv
	// encoding of array and map values (tag included); n is their length.
	// For bools, ints and doubles p is nil and n is the value (a double's
	// bits). Three words: cheap to return.
	p   unsafe.Pointer
	n   uint64
	typ ValueType
}

// raw is the bytes of a string, bytes, array or map value.
func (v Value) raw() []byte { return unsafe.Slice((*byte)(v.p), v.n) }

// Type is the value's type.
func (v Value) Type() ValueType { return v.typ }

// Str is a string value, zero-copy ("" for other types).
func (v Value) Str() string {
	if v.typ != TypeString {
		return ""
	}
	return unsafe.String((*byte)(v.p), v.n)
}

// Bool is a bool value.
func (v Value) Bool() bool { return v.typ == TypeBool && v.n != 0 }

// Int is an int value.
func (v Value) Int() int64 {
	if v.typ != TypeInt {
		return 0
	}
	return int64(v.n)
}

// Double is a double value.
func (v Value) Double() float64 {
	if v.typ != TypeDouble {
		return 0
	}
	return math.Float64frombits(v.n)
}

// Bytes is a bytes value, zero-copy: it points into the batch and must
// not be modified.
func (v Value) Bytes() []byte {
	if v.typ != TypeBytes {
		return nil
	}
	return v.raw()
}

// Len is the length of a string or bytes value, the number of elements of
// an array or of entries of a map, and 0 for other types.
func (v Value) Len() int {
	switch v.typ {
	case TypeString, TypeBytes:
		return int(v.n)
	case TypeArray, TypeMap:
		n, _, ok := v.kvHeader()
		if !ok {
			return 0
		}
		return int(n)
	}
	return 0
}

// kvHeader reads an array or map value's count, returning the bytes of its
// elements.
func (v Value) kvHeader() (count uint64, elems []byte, ok bool) {
	raw := v.raw()
	if len(raw) == 0 || raw[0] != byte(v.typ) {
		return 0, nil, false
	}
	n, k := uvarint(raw[1:])
	if k <= 0 || n > uint64(len(raw)) {
		return 0, nil, false
	}
	return n, raw[1+k:], true
}

// Items iterates over the elements of an array value. Iteration stops
// early at malformed encoding.
func (v Value) Items() iter.Seq[Value] {
	return func(yield func(Value) bool) {
		if v.typ != TypeArray {
			return
		}
		n, p, ok := v.kvHeader()
		if !ok {
			return
		}
		for ; n > 0; n-- {
			e, rest, ok := readValue(p, 0)
			if !ok || !yield(e) {
				return
			}
			p = rest
		}
	}
}

// Entries iterates over the entries of a map value, in their order
// (duplicate keys included). Iteration stops early at malformed encoding.
func (v Value) Entries() iter.Seq2[string, Value] {
	return func(yield func(string, Value) bool) {
		if v.typ != TypeMap {
			return
		}
		n, p, ok := v.kvHeader()
		if !ok {
			return
		}
		for ; n > 0; n-- {
			key, rest, ok := readString(p)
			if !ok {
				return
			}
			e, rest, ok := readValue(rest, 0)
			if !ok || !yield(unsafe.String(unsafe.SliceData(key), len(key)), e) {
				return
			}
			p = rest
		}
	}
}

// AsString renders any value as a string much as OpenTelemetry's pdata
// does: strings as they are, numbers and bools in Go's shortest form,
// bytes in standard base64, arrays and maps as JSON. Unlike the other
// accessors it allocates (except for strings).
func (v Value) AsString() string {
	switch v.typ {
	case TypeString:
		return v.Str()
	case TypeEmpty:
		return ""
	}
	return string(appendAsString(nil, v))
}

func appendAsString(b []byte, v Value) []byte {
	switch v.typ {
	case TypeString:
		return append(b, v.raw()...)
	case TypeBool:
		return strconv.AppendBool(b, v.n != 0)
	case TypeInt:
		return strconv.AppendInt(b, int64(v.n), 10)
	case TypeDouble:
		return strconv.AppendFloat(b, math.Float64frombits(v.n), 'g', -1, 64)
	case TypeBytes:
		return base64.StdEncoding.AppendEncode(b, v.raw())
	case TypeArray, TypeMap:
		return appendJSON(b, v)
	}
	return b
}

// appendJSON appends v as JSON.
func appendJSON(b []byte, v Value) []byte {
	switch v.typ {
	case TypeEmpty:
		return append(b, "null"...)
	case TypeString:
		return appendJSONString(b, v.raw())
	case TypeBytes:
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, v.raw())
		return append(b, '"')
	case TypeDouble:
		f := math.Float64frombits(v.n)
		if math.IsInf(f, 0) || math.IsNaN(f) {
			b = append(b, '"')
			b = strconv.AppendFloat(b, f, 'g', -1, 64)
			return append(b, '"')
		}
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	case TypeArray:
		b = append(b, '[')
		i := 0
		for e := range v.Items() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSON(b, e)
			i++
		}
		return append(b, ']')
	case TypeMap:
		b = append(b, '{')
		i := 0
		for k, e := range v.Entries() {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, unsafe.Slice(unsafe.StringData(k), len(k)))
			b = append(b, ':')
			b = appendJSON(b, e)
			i++
		}
		return append(b, '}')
	}
	return appendAsString(b, v)
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b, s []byte) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, "\ufffd"...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// maxDepth bounds the nesting of arrays and maps the SDK decodes, so a
// hostile value cannot exhaust the stack.
const maxDepth = 64

// readValue decodes one kv-encoded value at the start of p.
func readValue(p []byte, depth int) (v Value, rest []byte, ok bool) {
	if len(p) == 0 {
		return Value{}, nil, false
	}
	v.typ = ValueType(p[0])
	switch v.typ {
	case TypeEmpty:
		return v, p[1:], true
	case TypeString, TypeBytes:
		s, rest, ok := readString(p[1:])
		v.p, v.n = unsafe.Pointer(unsafe.SliceData(s)), uint64(len(s))
		return v, rest, ok
	case TypeBool:
		if len(p) < 2 || p[1] > 1 {
			return Value{}, nil, false
		}
		v.n = uint64(p[1])
		return v, p[2:], true
	case TypeInt:
		u, k := uvarint(p[1:])
		if k <= 0 {
			return Value{}, nil, false
		}
		v.n = uint64(int64(u>>1) ^ -int64(u&1))
		return v, p[1+k:], true
	case TypeDouble:
		if len(p) < 9 {
			return Value{}, nil, false
		}
		v.n = le64(p[1:])
		return v, p[9:], true
	case TypeArray, TypeMap:
		if depth >= maxDepth {
			return Value{}, nil, false
		}
		n, k := uvarint(p[1:])
		if k <= 0 {
			return Value{}, nil, false
		}
		q := p[1+k:]
		for ; n > 0; n-- {
			if v.typ == TypeMap {
				if _, q, ok = readString(q); !ok {
					return Value{}, nil, false
				}
			}
			if _, q, ok = readValue(q, depth+1); !ok {
				return Value{}, nil, false
			}
		}
		v.p, v.n = unsafe.Pointer(unsafe.SliceData(p)), uint64(len(p)-len(q))
		return v, q, true
	}
	return Value{}, nil, false
}

// readString decodes uvarint(length) bytes.
func readString(p []byte) (s, rest []byte, ok bool) {
	n, k := uvarint(p)
	if k <= 0 || n > uint64(len(p)-k) {
		return nil, nil, false
	}
	end := k + int(n)
	return p[k:end:end], p[end:], true
}

// uvarint decodes a LEB128 unsigned integer; k ≤ 0 when p does not start
// with one of at most 10 bytes.
func uvarint(p []byte) (v uint64, k int) {
	var s uint
	for i, c := range p {
		if i == 10 {
			return 0, -1
		}
		if c < 0x80 {
			if i == 9 && c > 1 {
				return 0, -1
			}
			return v | uint64(c)<<s, i + 1
		}
		v |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}
