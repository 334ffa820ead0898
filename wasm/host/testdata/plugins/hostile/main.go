// Command hostile is a host test plugin that misbehaves as its
// configuration says.
package main

import (
	"encoding/binary"
	"os"
	"unsafe"

	"github.com/tracelake/tracelake/wasm/abi"
)

var (
	buf  []byte
	mode string
	hog  [][]byte
	sink int
)

//go:wasmimport tracelake error
func hostError(ptr, n uint32)

//go:wasmimport tracelake set_edits
func setEdits(ptr, n uint32)

//go:wasmexport tracelake_abi_version
func version() int32 { return abi.Version }

//go:wasmexport tracelake_alloc
func alloc(n int32) int32 {
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(buf[:cap(buf)]))))
}

//go:wasmexport tracelake_init
func initialize(p, n int32) int32 {
	mode = string(unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n))
	if mode == "init-fail" {
		msg := []byte("refusing to start")
		hostError(uint32(uintptr(unsafe.Pointer(&msg[0]))), uint32(len(msg)))
		return 1
	}
	return 0
}

//go:wasmexport tracelake_sample
func sample(p, n int32) int32 {
	b := unsafe.Slice((*byte)(unsafe.Pointer(uintptr(p))), n)
	dec := binary.LittleEndian.Uint32(b[abi.HdrDecisions:])
	switch mode {
	case "loop":
		for {
			sink++
		}
	case "bomb":
		for {
			hog = append(hog, make([]byte, 1<<20))
		}
	case "grow": // within the limit: a well-behaved plugin may grow
		hog = append(hog, make([]byte, 4<<20))
	case "trap":
		var m map[string]int
		m["boom"]++
	case "exit":
		os.Exit(3)
	case "bad-decision":
		b[dec] = 7
	case "bad-edits":
		setEdits(uint32(p), 5)
	case "edit-out-of-range":
		var r [abi.EditSize]byte
		binary.LittleEndian.PutUint32(r[abi.EditSpan:], 1<<20)
		r[abi.EditOp] = abi.OpDeleteAttr
		setEdits(uint32(uintptr(unsafe.Pointer(&r[0]))), abi.EditSize)
	case "error":
		msg := []byte("plugin says no")
		hostError(uint32(uintptr(unsafe.Pointer(&msg[0]))), uint32(len(msg)))
		return 2
	}
	return 0
}

func main() {}
