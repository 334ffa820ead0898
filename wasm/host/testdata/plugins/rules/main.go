// Command rules is a host test plugin written against the raw ABI.
package main

import (
	"encoding/binary"
	"strconv"
	"strings"
	"unsafe"

	"github.com/tracelake/tracelake/wasm/abi"
)

var (
	buf     []byte
	edits   []byte
	keep    [][]byte // edit strings must outlive the call
	batches int
)

var le = binary.LittleEndian

//go:wasmimport tracelake set_edits
func setEdits(ptr, n uint32)

//go:wasmexport tracelake_abi_version
func version() int32 { return abi.Version }

//go:wasmexport tracelake_features
func features() int32 { return abi.FeaturesAll }

//go:wasmexport tracelake_alloc
func alloc(n int32) int32 {
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(buf[:cap(buf)]))))
}

func ptr(b []byte) uint32 { return uint32(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }

func addEdit(span uint32, op byte, key, value string) {
	k, v := []byte(key), []byte(value)
	keep = append(keep, k, v)
	var r [abi.EditSize]byte
	le.PutUint32(r[abi.EditSpan:], span)
	r[abi.EditOp] = op
	if len(k) > 0 {
		le.PutUint32(r[abi.EditKeyPtr:], ptr(k))
		le.PutUint32(r[abi.EditKeyLen:], uint32(len(k)))
	}
	if len(v) > 0 {
		le.PutUint32(r[abi.EditValuePtr:], ptr(v))
		le.PutUint32(r[abi.EditValueLen:], uint32(len(v)))
	}
	edits = append(edits, r[:]...)
}

//go:wasmexport tracelake_sample
func sample(p, n int32) int32 {
	b := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n)
	batches++
	edits, keep = edits[:0], keep[:0]
	count := le.Uint32(b[abi.HdrSpanCount:])
	spans := le.Uint32(b[abi.HdrSpansOffset:])
	res := le.Uint32(b[abi.HdrResourceOffset:])
	attrs := le.Uint32(b[abi.HdrAttrsOffset:])
	bytesOff := le.Uint32(b[abi.HdrBytesOffset:])
	dec := le.Uint32(b[abi.HdrDecisions:])
	str := func(off, n uint32) string { return string(b[bytesOff+off : bytesOff+off+n]) }
	for i := uint32(0); i < count; i++ {
		s := b[spans+i*abi.SpanSize:]
		name := str(le.Uint32(s[abi.SpanNameOff:]), le.Uint32(s[abi.SpanNameLen:]))
		if strings.HasPrefix(name, "drop") {
			b[dec+i] = abi.Drop
			continue
		}
		first, cnt := le.Uint32(s[abi.SpanAttrsFirst:]), le.Uint32(s[abi.SpanAttrsCount:])
		for a := first; a < first+cnt; a++ {
			r := b[attrs+a*abi.AttrSize:]
			if str(le.Uint32(r[abi.AttrKeyOff:]), le.Uint32(r[abi.AttrKeyLen:])) == "secret" {
				addEdit(i, abi.OpDeleteAttr, "secret", "")
			}
		}
		rr := b[res+le.Uint32(s[abi.SpanResource:])*abi.ResourceSize:]
		addEdit(i, abi.OpSetAttr, "seen", str(le.Uint32(rr[abi.ResServiceOff:]), le.Uint32(rr[abi.ResServiceLen:])))
		addEdit(i, abi.OpSetAttr, "batch", strconv.Itoa(batches))
		if le.Uint32(s[abi.SpanTraceStateLen:]) > 0 {
			addEdit(i, abi.OpSetTraceState, "", "ot=th:8")
		}
	}
	if len(edits) > 0 {
		setEdits(ptr(edits), uint32(len(edits)))
	}
	return 0
}

func main() {}
