package sdk

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/tracelake/tracelake/wasm/abi"
)

func TestUvarint(t *testing.T) {
	for _, v := range []uint64{0, 1, 127, 128, 300, 1 << 35, math.MaxUint64} {
		b := binary.AppendUvarint(nil, v)
		got, k := uvarint(b)
		if got != v || k != len(b) {
			t.Errorf("uvarint(%x) = %d, %d; want %d, %d", b, got, k, v, len(b))
		}
		if _, k := uvarint(b[:len(b)-1]); k > 0 {
			t.Errorf("truncated %x decoded", b)
		}
	}
	for _, b := range [][]byte{
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},       // overflows 64 bits
		{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, // 11 bytes
	} {
		if _, k := uvarint(b); k > 0 {
			t.Errorf("uvarint(%x) accepted", b)
		}
	}
}

func TestReadValueDepth(t *testing.T) {
	var b []byte
	for range maxDepth + 1 {
		b = append(b, abi.TypeArray, 1)
	}
	b = append(b, abi.TypeEmpty)
	if _, _, ok := readValue(b, 0); ok {
		t.Error("nesting deeper than maxDepth accepted")
	}
	if _, _, ok := readValue(b[2:], 0); !ok {
		t.Error("nesting of maxDepth refused")
	}
}

func TestEditsFinish(t *testing.T) {
	var e edits
	e.add(3, abi.OpSetAttr, "key", "value")
	e.add(4, abi.OpSetTraceState, "", "ts")
	recs := e.finish(0x10000)
	if len(recs) != 2*abi.EditSize {
		t.Fatalf("%d bytes of records", len(recs))
	}
	want := [][6]uint32{
		{3, abi.OpSetAttr, 0x10000, 3, 0x10003, 5},
		{4, abi.OpSetTraceState, 0x10008, 0, 0x10008, 2},
	}
	for i, w := range want {
		r := recs[i*abi.EditSize:]
		got := [6]uint32{le32(r[abi.EditSpan:]), uint32(r[abi.EditOp]), le32(r[abi.EditKeyPtr:]), le32(r[abi.EditKeyLen:]),
			le32(r[abi.EditValuePtr:]), le32(r[abi.EditValueLen:])}
		if got != w || r[5]|r[6]|r[7] != 0 {
			t.Errorf("record %d = %v, want %v", i, got, w)
		}
	}
	if string(e.data) != "keyvaluets" {
		t.Errorf("data %q", e.data)
	}
	e.reset()
	if len(e.finish(1)) != 0 || len(e.data) != 0 {
		t.Error("reset left edits")
	}

	// A string passed again is copied once; equal bytes elsewhere are not
	// the same string.
	const ts = "ot=th:e666"
	other := string([]byte(ts))
	e.add(0, abi.OpSetTraceState, "", ts)
	e.add(1, abi.OpSetTraceState, "", ts)
	e.add(2, abi.OpSetAttr, "k", ts)
	e.add(3, abi.OpSetAttr, "k", other)
	if string(e.data) != ts+"k"+ts {
		t.Errorf("data %q", e.data)
	}
	recs = e.finish(0)
	for i, want := range []uint32{0, 0, 0, 11} {
		if got := le32(recs[i*abi.EditSize+abi.EditValuePtr:]); got != want {
			t.Errorf("record %d: value at %d, want %d", i, got, want)
		}
	}
}

// FuzzReadValue: the kv decoder never panics, and what it accepts it
// consumes exactly once more when re-read from its raw bytes.
func FuzzReadValue(f *testing.F) {
	f.Add([]byte{abi.TypeArray, 2, abi.TypeString, 1, 'a', abi.TypeMap, 1, 1, 'k', abi.TypeInt, 3})
	f.Add([]byte{abi.TypeDouble, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f})
	f.Add([]byte{abi.TypeBytes, 0x80})
	f.Fuzz(func(t *testing.T, b []byte) {
		v, rest, ok := readValue(b, 0)
		if !ok {
			return
		}
		if len(rest) > len(b) {
			t.Fatal("rest longer than input")
		}
		_ = v.AsString()
		_ = v.Len()
		if v.typ == TypeArray || v.typ == TypeMap {
			if len(v.raw()) != len(b)-len(rest) {
				t.Fatalf("raw %d bytes, consumed %d", len(v.raw()), len(b)-len(rest))
			}
			if _, r2, ok := readValue(v.raw(), 0); !ok || len(r2) != 0 {
				t.Fatal("raw bytes do not re-read")
			}
		}
	})
}
