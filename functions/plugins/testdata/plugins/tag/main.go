// Command tag is a test plugin for the plugin manager, written against the
// raw ABI (wasm/FORMAT.md). Its configuration is a tag; it appends the tag
// to every span's "path" attribute ("a", then "a/b" after a second tag
// plugin), so a test can tell which plugins processed a span, and in what
// order. The tag "drop-all" drops every span instead.
//
// Build it from the module root with:
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o tag.wasm ./functions/plugins/testdata/plugins/tag
package main

import (
	"encoding/binary"
	"unsafe"

	"github.com/tracelake/tracelake/wasm/abi"
)

var (
	buf   []byte
	tag   string
	edits []byte
	keep  [][]byte // edit strings must outlive the call
)

var le = binary.LittleEndian

//go:wasmimport tracelake set_edits
func setEdits(ptr, n uint32)

//go:wasmexport tracelake_abi_version
func version() int32 { return abi.Version }

//go:wasmexport tracelake_alloc
func alloc(n int32) int32 {
	if cap(buf) < int(n) || buf == nil {
		buf = make([]byte, max(n, 1)) // never 0, which means "no memory", even for 0 bytes
	}
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(buf[:cap(buf)]))))
}

//go:wasmexport tracelake_init
func initialize(p, n int32) int32 {
	tag = string(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n))
	return 0
}

func ptr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

//go:wasmexport tracelake_sample
func sample(p, n int32) int32 {
	b := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n)
	edits, keep = edits[:0], keep[:0]
	count := le.Uint32(b[abi.HdrSpanCount:])
	spans := le.Uint32(b[abi.HdrSpansOffset:])
	attrs := le.Uint32(b[abi.HdrAttrsOffset:])
	bytesOff := le.Uint32(b[abi.HdrBytesOffset:])
	dec := le.Uint32(b[abi.HdrDecisions:])
	str := func(off, n uint32) string { return string(b[bytesOff+off : bytesOff+off+n]) }
	for i := uint32(0); i < count; i++ {
		if tag == "drop-all" {
			b[dec+i] = abi.Drop
			continue
		}
		s := b[spans+i*abi.SpanSize:]
		path := tag
		first, cnt := le.Uint32(s[abi.SpanAttrsFirst:]), le.Uint32(s[abi.SpanAttrsCount:])
		for a := first; a < first+cnt; a++ {
			r := b[attrs+a*abi.AttrSize:]
			if str(le.Uint32(r[abi.AttrKeyOff:]), le.Uint32(r[abi.AttrKeyLen:])) == "path" && r[abi.AttrType] == abi.TypeString {
				path = str(uint32(le.Uint64(r[abi.AttrValue:])), le.Uint32(r[abi.AttrLen:])) + "/" + tag
			}
		}
		k, v := []byte("path"), []byte(path)
		keep = append(keep, k, v)
		var r [abi.EditSize]byte
		le.PutUint32(r[abi.EditSpan:], i)
		r[abi.EditOp] = abi.OpSetAttr
		le.PutUint32(r[abi.EditKeyPtr:], ptr(k))
		le.PutUint32(r[abi.EditKeyLen:], uint32(len(k)))
		le.PutUint32(r[abi.EditValuePtr:], ptr(v))
		le.PutUint32(r[abi.EditValueLen:], uint32(len(v)))
		edits = append(edits, r[:]...)
	}
	if len(edits) > 0 {
		setEdits(ptr(edits), uint32(len(edits)))
	}
	return 0
}

func main() {}
