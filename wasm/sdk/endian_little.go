//go:build 386 || amd64 || arm || arm64 || loong64 || mips64le || mipsle || ppc64le || riscv64 || wasm

package sdk

import "unsafe"

// On little-endian machines — WebAssembly is one — fields are loaded
// directly. The explicit bounds check makes the loads safe; where the
// compiler can prove it (constant offsets into a *[abi.SpanSize]byte) it
// disappears, and the load is one instruction, cheap enough for the
// accessors that use it to be inlined.

func le32(b []byte) uint32 {
	_ = b[3]
	return *(*uint32)(unsafe.Pointer(unsafe.SliceData(b)))
}

func le64(b []byte) uint64 {
	_ = b[7]
	return *(*uint64)(unsafe.Pointer(unsafe.SliceData(b)))
}

func put32(b []byte, v uint32) {
	_ = b[3]
	*(*uint32)(unsafe.Pointer(unsafe.SliceData(b))) = v
}
