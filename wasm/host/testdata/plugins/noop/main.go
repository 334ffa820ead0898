// Command noop is a host test plugin that keeps every span and reads
// nothing: it measures the host's own overhead.
package main

import (
	"unsafe"

	"github.com/tracelake/tracelake/wasm/abi"
)

var buf []byte

//go:wasmexport tracelake_abi_version
func version() int32 { return abi.Version }

//go:wasmexport tracelake_features
func features() int32 { return 0 }

//go:wasmexport tracelake_alloc
func alloc(n int32) int32 {
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	return int32(uintptr(unsafe.Pointer(unsafe.SliceData(buf[:cap(buf)]))))
}

//go:wasmexport tracelake_sample
func sample(p, n int32) int32 { return 0 }

func main() {}
