//go:build wasip1

// The host calls the go:wasmexport functions, which staticcheck cannot see.
//lint:file-ignore U1000 exported to the host

package sdk

import (
	"unsafe"

	"github.com/tracelake/tracelake/wasm/abi"
)

// The ABI's imports (wasm/FORMAT.md, "Imports the host provides").

//go:wasmimport tracelake error
func importError(ptr unsafe.Pointer, n uint32)

//go:wasmimport tracelake set_edits
func importSetEdits(ptr unsafe.Pointer, n uint32)

//go:wasmimport tracelake log
func importLog(level int32, ptr unsafe.Pointer, n uint32)

func hostLog(level Level, msg string) {
	importLog(int32(level), unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

func hostError(msg string) {
	importError(unsafe.Pointer(unsafe.StringData(msg)), uint32(len(msg)))
}

// The ABI's exports (wasm/FORMAT.md, "Exports the plugin provides"). The
// SDK owns all of them, so a plugin is only an init function.

//go:wasmexport tracelake_abi_version
func exportVersion() int32 { return abi.Version }

//go:wasmexport tracelake_features
func exportFeatures() int32 { return int32(registered.features) }

// maxAlloc is the largest buffer tracelake_alloc hands out.
const maxAlloc = 1 << 30

// buffer is the one buffer tracelake_alloc hands out, reused across calls
// while large enough, so steady-state batches allocate nothing.
var buffer []byte

//go:wasmexport tracelake_alloc
func exportAlloc(size int32) unsafe.Pointer {
	// Refuse what cannot be a sane batch, rather than trap in make: the
	// ABI's answer to "no memory" is 0.
	if size < 0 || size > maxAlloc {
		return nil
	}
	if int(size) > len(buffer) || buffer == nil {
		grown := len(buffer) + len(buffer)/4 // batches vary: leave headroom
		// Drop the references into the old buffer, so it can be collected.
		registered.batch = Batch{edits: registered.batch.edits}
		buffer = nil // let the old buffer be collected before the new one is made
		buffer = make([]byte, max(int(size), 4<<10, grown))
	}
	return unsafe.Pointer(unsafe.SliceData(buffer))
}

//go:wasmexport tracelake_init
func exportInit(ptr unsafe.Pointer, n int32) int32 {
	config, err := inBuffer(ptr, n)
	if err == nil {
		err = registered.Init(config)
	}
	if err != nil {
		hostError(err.Error())
		return 1
	}
	return 0
}

//go:wasmexport tracelake_sample
func exportSample(ptr unsafe.Pointer, n int32) int32 {
	buf, err := inBuffer(ptr, n)
	if err == nil {
		err = registered.sample(buf)
	}
	if err != nil {
		hostError(err.Error())
		return 1
	}
	if e := &registered.batch.edits; len(e.recs) > 0 {
		recs := e.finish(uint32(uintptr(unsafe.Pointer(unsafe.SliceData(e.data)))))
		importSetEdits(unsafe.Pointer(unsafe.SliceData(recs)), uint32(len(recs)))
	}
	return 0
}

// inBuffer is the n bytes at ptr, which must lie in the tracelake_alloc
// buffer: the ABI says the host writes batches and configuration there,
// and checking it means a confused host gets an error, not garbage. Zero
// bytes need no buffer, so any pointer will do (hosts pass 0, 0 for an
// empty configuration).
func inBuffer(ptr unsafe.Pointer, n int32) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(buffer)))
	p := uintptr(ptr)
	if n < 0 || buffer == nil || p < base || p-base+uintptr(n) > uintptr(len(buffer)) {
		return nil, sdkError("the host passed memory outside the tracelake_alloc buffer")
	}
	off := int(p - base)
	return buffer[off : off+int(n) : off+int(n)], nil
}
