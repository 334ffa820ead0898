package sdk

import (
	"unsafe"

	"github.com/tracelake/tracelake/wasm/abi"
)

// edits accumulates a batch's edit list (wasm/FORMAT.md, "Edits"). Keys
// and values are copied into data, which the SDK owns and keeps until the
// next batch, so the host may read them after tracelake_sample returns
// whatever the plugin's strings pointed at. While the list grows, records
// hold offsets into data (data may move as it grows); finish turns them
// into pointers once data has its final address.
//
// Both buffers keep their capacity across batches, so steady-state edits
// allocate nothing, and a string passed again (the same constant trace
// state for every kept span, say) is copied once: Go strings are
// immutable, so the same pointer and length mean the same bytes.
type edits struct {
	recs []byte
	data []byte
	// the last key and value copied, and where
	lastKey, lastValue     span32
	lastKeyPtr, lastValPtr *byte
}

// span32 is an offset and length in data.
type span32 struct{ off, n uint32 }

func (e *edits) reset() {
	e.recs = e.recs[:0]
	e.data = e.data[:0]
	e.lastKeyPtr, e.lastValPtr = nil, nil
}

func (e *edits) add(span uint32, op uint8, key, value string) {
	k := e.copy(key, &e.lastKeyPtr, &e.lastKey)
	v := e.copy(value, &e.lastValPtr, &e.lastValue)
	n := len(e.recs)
	if cap(e.recs)-n < abi.EditSize {
		e.recs = append(e.recs, make([]byte, abi.EditSize)...)[:n]
	}
	e.recs = e.recs[:n+abi.EditSize]
	r := (*[abi.EditSize]byte)(e.recs[n:])
	put32(r[abi.EditSpan:], span)
	put32(r[abi.EditOp:], uint32(op)) // op and three zero reserved bytes
	put32(r[abi.EditKeyPtr:], k.off)
	put32(r[abi.EditKeyLen:], k.n)
	put32(r[abi.EditValuePtr:], v.off)
	put32(r[abi.EditValueLen:], v.n)
}

// copy appends s to data unless it is the string last copied into slot.
func (e *edits) copy(s string, lastPtr **byte, last *span32) span32 {
	p := unsafe.StringData(s)
	if len(s) == 0 {
		return span32{uint32(len(e.data)), 0}
	}
	if p == *lastPtr && uint32(len(s)) == last.n {
		return *last
	}
	*last = span32{uint32(len(e.data)), uint32(len(s))}
	*lastPtr = p
	e.data = append(e.data, s...)
	return *last
}

// finish returns the edit records with key and value pointers relative to
// base, the address of data in the plugin's memory (0 natively, where
// they are offsets into data).
func (e *edits) finish(base uint32) []byte {
	for r := e.recs; len(r) >= abi.EditSize; r = r[abi.EditSize:] {
		put32(r[abi.EditKeyPtr:], base+le32(r[abi.EditKeyPtr:]))
		put32(r[abi.EditValuePtr:], base+le32(r[abi.EditValuePtr:]))
	}
	return e.recs
}
