package plugins_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"sync"
	"testing"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"

	"github.com/tracelake/tracelake/wasm/abi"
)

// rawInstance is one instance of a plugin, instantiated directly with
// wazero and driven through its exports as wasm/FORMAT.md says, without
// the host: it checks the plugins' side of the ABI byte for byte. The
// tracelake.* imports record what the plugin hands over in the instance
// whose call they are part of (it travels in the call's context).
type rawInstance struct {
	t   testing.TB
	mod api.Module

	// Recorded by the imports during the current call.
	errMsg             string
	editsCalls         int
	editsPtr, editsLen uint32
}

// rawEdit is one edit record, with its key and value read from the
// plugin's memory.
type rawEdit struct {
	span       uint32
	op         byte
	reserved   [3]byte
	key, value string
	keyLen     uint32
}

// The raw harness's runtime, shared by every instance, and the modules
// compiled in it, by content.
var (
	rawRuntime  wazero.Runtime
	rawMu       sync.Mutex
	rawCompiled = map[[sha256.Size]byte]wazero.CompiledModule{}
)

type rawKey struct{}

// startRaw creates the raw harness's runtime: WASI (Go plugins import
// it) and the tracelake module.
func startRaw(ctx context.Context) error {
	rawRuntime = wazero.NewRuntimeWithConfig(ctx, rawConfig())
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rawRuntime); err != nil {
		return err
	}
	state := func(ctx context.Context) *rawInstance {
		r, _ := ctx.Value(rawKey{}).(*rawInstance)
		return r
	}
	_, err := rawRuntime.NewHostModuleBuilder(abi.ImportModule).
		NewFunctionBuilder().WithFunc(func(ctx context.Context, m api.Module, ptr, n uint32) {
		r := state(ctx)
		if r == nil {
			return // during _initialize
		}
		b, ok := m.Memory().Read(ptr, n)
		if !ok {
			r.t.Errorf("%s(%#x, %d) outside the plugin's memory", abi.ImportError, ptr, n)
		}
		r.errMsg = string(b)
	}).Export(abi.ImportError).
		NewFunctionBuilder().WithFunc(func(ctx context.Context, ptr, n uint32) {
		if r := state(ctx); r != nil {
			r.editsCalls++
			r.editsPtr, r.editsLen = ptr, n
		}
	}).Export(abi.ImportSetEdits).
		NewFunctionBuilder().WithFunc(func(context.Context, int32, uint32, uint32) {}).Export(abi.ImportLog).
		Instantiate(ctx)
	return err
}

// rawModule compiles module in the raw runtime, once.
func rawModule(t testing.TB, module []byte) wazero.CompiledModule {
	t.Helper()
	rawMu.Lock()
	defer rawMu.Unlock()
	sum := sha256.Sum256(module)
	if c, ok := rawCompiled[sum]; ok {
		return c
	}
	c, err := rawRuntime.CompileModule(context.Background(), module)
	if err != nil {
		t.Fatal(err)
	}
	rawCompiled[sum] = c
	return c
}

func newRaw(t testing.TB, module []byte) *rawInstance {
	t.Helper()
	ctx := context.Background()
	r := &rawInstance{t: t}
	// Anonymous, so that a module may be instantiated many times; the
	// start function is skipped when the module does not export it
	// (Rust).
	mod, err := rawRuntime.InstantiateModule(ctx, rawModule(t, module),
		wazero.NewModuleConfig().WithName("").WithStartFunctions(abi.ExportInitialize))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mod.Close(ctx) })
	r.mod = mod
	return r
}

// call calls an export; a trap fails the test.
func (r *rawInstance) call(name string, args ...uint64) int32 {
	r.t.Helper()
	f := r.mod.ExportedFunction(name)
	if f == nil {
		r.t.Fatalf("no export %s", name)
	}
	res, err := f.Call(context.WithValue(context.Background(), rawKey{}, r), args...)
	if err != nil {
		r.t.Fatalf("%s trapped: %v", name, err)
	}
	return int32(res[0])
}

// write copies b into a buffer from tracelake_alloc and returns its
// address.
func (r *rawInstance) write(b []byte) uint32 {
	r.t.Helper()
	ptr := uint32(r.call(abi.ExportAlloc, uint64(len(b))))
	if ptr == 0 {
		r.t.Fatalf("%s(%d) returned 0", abi.ExportAlloc, len(b))
	}
	if !r.mod.Memory().Write(ptr, b) {
		r.t.Fatalf("%s(%d) returned %#x, outside memory", abi.ExportAlloc, len(b), ptr)
	}
	return ptr
}

func (r *rawInstance) reset() { r.errMsg, r.editsCalls, r.editsPtr, r.editsLen = "", 0, 0, 0 }

// init calls tracelake_init with config ((0, 0) when empty, as the host
// does) and returns its result and error message.
func (r *rawInstance) init(config string) (int32, string) {
	r.t.Helper()
	r.reset()
	var ptr uint32
	if config != "" {
		ptr = r.write([]byte(config))
	}
	ret := r.call(abi.ExportInit, uint64(ptr), uint64(len(config)))
	return ret, r.errMsg
}

// sampleResult is what one tracelake_sample call did.
type sampleResult struct {
	ret        int32
	errMsg     string
	decisions  []byte    // at the header's decisions offset; nil unless ret is 0
	editsCalls int       // set_edits calls
	edits      []rawEdit // nil unless set_edits was called
}

// sample writes batch into the plugin's memory and calls
// tracelake_sample on it.
func (r *rawInstance) sample(batch []byte) sampleResult {
	r.t.Helper()
	ptr := r.write(batch)
	r.reset()
	res := sampleResult{ret: r.call(abi.ExportSample, uint64(ptr), uint64(len(batch)))}
	res.errMsg, res.editsCalls = r.errMsg, r.editsCalls
	if res.ret != 0 {
		return res
	}
	mem := r.mod.Memory()
	n := binary.LittleEndian.Uint32(batch[abi.HdrSpanCount:])
	off := binary.LittleEndian.Uint32(batch[abi.HdrDecisions:])
	d, ok := mem.Read(ptr+off, n)
	if !ok {
		r.t.Fatalf("decisions at %#x+%d are outside memory", ptr+off, n)
	}
	res.decisions = append([]byte{}, d...)
	if r.editsCalls == 0 {
		return res
	}
	if r.editsLen%abi.EditSize != 0 {
		r.t.Fatalf("edit list of %d bytes", r.editsLen)
	}
	recs, ok := mem.Read(r.editsPtr, r.editsLen)
	if !ok {
		r.t.Fatalf("edit list at %#x+%d is outside memory", r.editsPtr, r.editsLen)
	}
	res.edits = []rawEdit{}
	str := func(rec []byte, at int) string {
		p, n := binary.LittleEndian.Uint32(rec[at:]), binary.LittleEndian.Uint32(rec[at+4:])
		if n == 0 {
			return ""
		}
		b, ok := mem.Read(p, n)
		if !ok {
			r.t.Fatalf("edit string at %#x+%d is outside memory", p, n)
		}
		return string(b)
	}
	for i := 0; i < len(recs); i += abi.EditSize {
		rec := recs[i : i+abi.EditSize]
		e := rawEdit{span: binary.LittleEndian.Uint32(rec[abi.EditSpan:]), op: rec[abi.EditOp],
			keyLen: binary.LittleEndian.Uint32(rec[abi.EditKeyLen:]),
			key:    str(rec, abi.EditKeyPtr), value: str(rec, abi.EditValuePtr)}
		copy(e.reserved[:], rec[abi.EditOp+1:])
		res.edits = append(res.edits, e)
	}
	return res
}
