package host

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/tracelake/tracelake/wasm/wasmtest"
)

// sdkModules are example plugins built with the Go SDK, built on first
// use: only the benchmarks need them.
var sdkModules = sync.OnceValues(func() (map[string][]byte, error) {
	dir, err := os.MkdirTemp("", "tracelake-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	return wasmtest.BuildGo(dir, map[string]string{"go-probabilistic": "./wasm/plugins/go/probabilistic"})
})

// benchModules are the modules the start-up benchmarks load: the raw-ABI
// Go test plugin, a Go SDK plugin and the Rust plugins (when built).
func benchModules(b *testing.B) map[string][]byte {
	sdk, err := sdkModules()
	if err != nil {
		b.Fatal(err)
	}
	return map[string][]byte{
		"go-noop":            modules["noop"],
		"go-probabilistic":   sdk["go-probabilistic"],
		"rust-keep-all":      wasmtest.Prebuilt(b, "rust-keep-all.wasm"),
		"rust-probabilistic": wasmtest.Prebuilt(b, "rust-probabilistic.wasm"),
	}
}

var benchConfigs = map[string]string{"go-probabilistic": `{"percent": 10}`, "rust-probabilistic": `{"percent": 10}`}

// BenchmarkColdStart: what a new process (a pod, a Lambda cold start)
// pays before its first batch when the compiled plugin is in the on-disk
// cache: open the cache, load (check, instantiate, init) one instance.
func BenchmarkColdStart(b *testing.B) {
	for name, module := range benchModules(b) {
		b.Run(name, func(b *testing.B) {
			dir := b.TempDir()
			cfg := Config{Name: name, Module: module, PluginConfig: []byte(benchConfigs[name]), MinInstances: 1}
			warm := func() {
				l, err := NewLoader(LoaderConfig{CacheDir: dir})
				if err != nil {
					b.Fatal(err)
				}
				p, err := l.Load(context.Background(), cfg)
				if err != nil {
					b.Fatal(err)
				}
				p.Close(context.Background())
				l.Close(context.Background())
			}
			warm() // compile once, into the cache
			for b.Loop() {
				warm()
			}
		})
	}
}

// BenchmarkNewInstance: one more instance of a loaded plugin
// (instantiate and init), what a pool pays when it grows.
func BenchmarkNewInstance(b *testing.B) {
	for name, module := range benchModules(b) {
		b.Run(name, func(b *testing.B) {
			l, err := NewLoader(LoaderConfig{})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close(context.Background())
			p, err := l.Load(context.Background(), Config{Name: name, Module: module, PluginConfig: []byte(benchConfigs[name])})
			if err != nil {
				b.Fatal(err)
			}
			defer p.Close(context.Background())
			for b.Loop() {
				inst, err := p.newInstance(context.Background())
				if err != nil {
					b.Fatal(err)
				}
				inst.close(context.Background())
			}
		})
	}
}

// BenchmarkAcquire: taking an idle instance from the pool and giving it
// back, alone and with every core contending.
func BenchmarkAcquire(b *testing.B) {
	l, err := NewLoader(LoaderConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(context.Background())
	p, err := l.Load(context.Background(), Config{Name: "noop", Module: modules["noop"], MinInstances: 8, MaxInstances: 8})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close(context.Background())
	ctx := context.Background()
	b.Run("serial", func(b *testing.B) {
		for b.Loop() {
			inst, err := p.acquire(ctx)
			if err != nil {
				b.Fatal(err)
			}
			p.release(inst)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				inst, err := p.acquire(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				p.release(inst)
			}
		})
	})
}
