// Package wasmtest builds and finds the repository's sampling plugins for
// tests: Go plugins are built on demand (the Go build cache makes a
// rebuild cheap), Rust plugins are read from bin/plugins, where
// `make plugins` puts them (building them needs rustc for wasm32, which
// `make` installs and `go test` cannot).
package wasmtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
)

// Root is the module's root directory.
func Root() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the tracelake module")
	}
	return filepath.Dir(mod), nil
}

// BuildGo builds Go plugin packages as WASI reactors (the command in
// wasm/sdk's documentation) into dir, two at a time, and returns each
// module's bytes by the name it was given under. Package paths are import
// paths or paths relative to the module root ("./wasm/plugins/go/...").
func BuildGo(dir string, pkgs map[string]string) (map[string][]byte, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	var (
		mu   sync.Mutex
		wg   sync.WaitGroup
		out  = make(map[string][]byte, len(pkgs))
		errs []error
		sem  = make(chan struct{}, min(2, runtime.NumCPU())) // a small machine
	)
	for name, pkg := range pkgs {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			wasm := filepath.Join(dir, name+".wasm")
			cmd := exec.Command("go", "build", "-buildmode=c-shared", "-trimpath", "-o", wasm, pkg)
			cmd.Dir = root
			cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var b []byte
			if err == nil {
				b, err = os.ReadFile(wasm)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("build plugin %s (%s): %v\n%s", name, pkg, err, stderr.Bytes()))
				return
			}
			out[name] = b
		})
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

// RequireEnv names the variable that makes missing prebuilt plugins fail
// tests instead of skipping them; `make test` sets it, after
// `make plugins`.
const RequireEnv = "TRACELAKE_REQUIRE_PLUGINS"

// Prebuilt returns the module `make plugins` built as
// bin/plugins/<file> (for example "rust-keep-all.wasm"). When it is
// missing the test is skipped, or fails when RequireEnv is set; when a
// source is newer than the module, the test says so in its log.
func Prebuilt(tb testing.TB, file string) []byte {
	tb.Helper()
	root, err := Root()
	if err != nil {
		tb.Fatal(err)
	}
	path := filepath.Join(root, "bin", "plugins", file)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		msg := fmt.Sprintf("%s is not built: run `make plugins`", path)
		if os.Getenv(RequireEnv) != "" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	if err != nil {
		tb.Fatal(err)
	}
	if stale := staleSources(root, path); len(stale) > 0 {
		tb.Logf("%s is older than %s: run `make plugins`", path, strings.Join(stale, ", "))
	}
	return b
}

// staleSources lists the sources named in the module's make dependency
// file (written by wasm/plugins/Makefile.inc) that are newer than it.
func staleSources(root, module string) []string {
	fi, err := os.Stat(module)
	if err != nil {
		return nil
	}
	deps, err := os.ReadFile(module + ".d")
	if err != nil {
		return nil
	}
	first, _, _ := strings.Cut(string(deps), "\n")
	_, list, _ := strings.Cut(first, ":")
	var stale []string
	for _, src := range strings.Fields(list) {
		if !filepath.IsAbs(src) {
			src = filepath.Join(root, src)
		}
		if si, err := os.Stat(src); err == nil && si.ModTime().After(fi.ModTime()) {
			stale = append(stale, src)
		}
	}
	return stale
}

// Precompile compiles modules (files) into a wazero compilation cache in
// cacheDir, the way wasm/host compiles them, in a program of its own
// (./precompile) built without the race detector: under -race, wazero's
// compiler takes seconds per Go plugin, a tenth of that without. Loaders
// given cacheDir then find the modules compiled.
//
// wazero keys its cache on its version, which it reads from the build
// information of the program that loads the modules: the real version in
// a binary built by go build or go run, "dev" in a test binary, which
// lacks dependency information. forVersion is that version —
// WazeroVersion() for the calling test binary itself, "" for a binary
// built with go build — and the program is built to believe the same.
// Were wazero's variable renamed, the cache would simply miss and the
// modules be compiled again where they are loaded: slower, no less right.
func Precompile(cacheDir, forVersion string, files ...string) error {
	root, err := Root()
	if err != nil {
		return err
	}
	args := []string{"run"}
	if forVersion != "" {
		args = append(args, "-ldflags=-X=github.com/tetratelabs/wazero/internal/version.version="+forVersion)
	}
	args = append(args, "./wasm/wasmtest/precompile", cacheDir)
	cmd := exec.Command("go", append(args, files...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("precompile plugins: %v\n%s", err, out)
	}
	return nil
}

// WazeroVersion is the version wazero finds in this program's build
// information, as it computes it: "dev" when there is none (test
// binaries).
func WazeroVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/tetratelabs/wazero" && dep.Version != "" && dep.Version != "(devel)" {
				return dep.Version
			}
		}
	}
	return "dev"
}

// BuildGoPrecompiled is BuildGo, then Precompile of the modules for the
// calling test binary into a cache under dir, whose path it returns: give
// it to the test's loaders (host.LoaderConfig.CacheDir). Should
// precompiling fail, it says so on stderr and the loaders compile.
func BuildGoPrecompiled(dir string, pkgs map[string]string) (map[string][]byte, string, error) {
	modules, err := BuildGo(dir, pkgs)
	if err != nil {
		return nil, "", err
	}
	cacheDir := filepath.Join(dir, "wazero-cache")
	files := make([]string, 0, len(modules))
	for name := range modules {
		files = append(files, filepath.Join(dir, name+".wasm"))
	}
	if err := Precompile(cacheDir, WazeroVersion(), files...); err != nil {
		fmt.Fprintf(os.Stderr, "%v\n(the tests compile the plugins themselves)\n", err)
	}
	return modules, cacheDir, nil
}
