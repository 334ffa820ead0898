// Command precompile compiles WebAssembly modules into a wazero
// compilation cache directory, as wasm/host compiles them (closing on
// context done, which changes the compiled code), two at a time:
//
//	go run ./wasm/wasmtest/precompile <cache dir> <module.wasm>...
//
// wasmtest.Precompile runs it for tests: under -race, wazero's compiler
// is ten times slower than in this program, built without it; the tests
// then load the compiled modules from the cache.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/tetratelabs/wazero"
	"golang.org/x/sync/errgroup"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: precompile <cache dir> <module.wasm>...")
		os.Exit(2)
	}
	ctx := context.Background()
	cache, err := wazero.NewCompilationCacheWithDir(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer cache.Close(ctx)
	var g errgroup.Group
	g.SetLimit(2)
	for _, file := range os.Args[2:] {
		g.Go(func() error {
			module, err := os.ReadFile(file)
			if err != nil {
				return err
			}
			rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
				WithCompilationCache(cache).WithCloseOnContextDone(true))
			defer rt.Close(ctx)
			if _, err := rt.CompileModule(ctx, module); err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
