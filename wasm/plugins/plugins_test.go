// Package plugins_test runs the example sampling plugins (wasm/plugins/go
// and wasm/plugins/rust) through the real host (wasm/host) and, for the
// probabilistic plugins, directly through wazero at the ABI level
// (raw_test.go), against the fixtures in rust/probabilistic/testdata.
//
// Go plugins are built here, in TestMain; Rust plugins are read from
// bin/plugins (`make plugins`), and their tests skip when they are not
// built (or fail, with TRACELAKE_REQUIRE_PLUGINS set).
package plugins_test

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"
	"golang.org/x/sync/errgroup"

	"github.com/tracelake/tracelake/wasm/host"
	"github.com/tracelake/tracelake/wasm/wasmtest"
)

// goPlugins are the Go example plugins, by name, built by TestMain.
var goPlugins map[string][]byte

// loader is shared by every test, so each module is compiled once (its
// compilation cache is per loader); rawCache does the same for the raw
// harness.
var (
	loader   *host.Loader
	rawCache wazero.CompilationCache
	cacheDir string // rawCache's directory, for loaders of their own
)

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "tracelake-example-plugins-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		pkgs := map[string]string{}
		for _, name := range []string{"keep-all", "probabilistic", "errors-slow", "attribute-rules", "pii-redaction", "rate-limit"} {
			pkgs[name] = "./wasm/plugins/go/" + name
		}
		if goPlugins, err = wasmtest.BuildGo(dir, pkgs); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		// Compile each module once, into a cache on disk that the loader
		// and the raw harness share.
		cacheDir = filepath.Join(dir, "wazero")
		if rawCache, err = wazero.NewCompilationCacheWithDir(cacheDir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer rawCache.Close(context.Background())
		if err := precompile(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := startRaw(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer rawRuntime.Close(context.Background())
		if loader, err = host.NewLoader(host.LoaderConfig{CacheDir: cacheDir}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer loader.Close(context.Background())
		return m.Run()
	}()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// rawConfig is the runtime configuration of the raw harness: the host's
// as far as compilation goes (WithCloseOnContextDone changes the compiled
// code), so the two share compiled modules.
func rawConfig() wazero.RuntimeConfig {
	return wazero.NewRuntimeConfig().WithCompilationCache(rawCache).WithCloseOnContextDone(true)
}

// precompile compiles the Go plugins BuildGo wrote into dir, and the Rust
// plugins that are built, into cacheDir. It does it in a program of its
// own (wasmtest.Precompile) when it can: under -race, wazero's compiler
// takes seconds per Go plugin in the test binary, a tenth of that outside
// it. Otherwise it compiles here, two at a time.
func precompile(dir string) error {
	var files []string
	for name := range goPlugins {
		files = append(files, filepath.Join(dir, name+".wasm"))
	}
	if root, err := wasmtest.Root(); err == nil {
		for _, f := range []string{"rust-probabilistic.wasm", "rust-keep-all.wasm"} {
			if path := filepath.Join(root, "bin", "plugins", f); fileExists(path) {
				files = append(files, path)
			}
		}
	}
	err := wasmtest.Precompile(cacheDir, wasmtest.WazeroVersion(), files...)
	if err == nil {
		return nil
	}
	fmt.Fprintf(os.Stderr, "%v\ncompiling the plugins here instead\n", err)
	var g errgroup.Group
	g.SetLimit(2)
	for _, f := range files {
		g.Go(func() error {
			module, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			ctx := context.Background()
			rt := wazero.NewRuntimeWithConfig(ctx, rawConfig())
			defer rt.Close(ctx)
			_, err = rt.CompileModule(ctx, module)
			return err
		})
	}
	return g.Wait()
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// impl is one build of a plugin: its language and module.
type impl struct {
	lang   string
	module []byte
}

// bothProbabilistic runs fn as a subtest for the Go and the Rust
// probabilistic plugin; the Rust one skips when it is not built.
func bothProbabilistic(t *testing.T, fn func(t *testing.T, p impl)) {
	t.Run("go", func(t *testing.T) { fn(t, impl{"go", goPlugins["probabilistic"]}) })
	t.Run("rust", func(t *testing.T) { fn(t, impl{"rust", wasmtest.Prebuilt(t, "rust-probabilistic.wasm")}) })
}

// testTimeout replaces the host's 250 ms batch deadline: these tests run
// on loaded machines under -race, and no test here is about deadlines.
const testTimeout = 20 * time.Second

// load loads a plugin with the shared loader, closing it when the test
// ends.
func load(t testing.TB, name string, module []byte, config string, opts ...func(*host.Config)) *host.Plugin {
	t.Helper()
	p, err := loadErr(t, name, module, config, opts...)
	if err != nil {
		t.Fatalf("load %s with %q: %v", name, config, err)
	}
	return p
}

func loadErr(t testing.TB, name string, module []byte, config string, opts ...func(*host.Config)) (*host.Plugin, error) {
	t.Helper()
	return loadWith(t, loader, name, module, config, opts...)
}

func loadWith(t testing.TB, l *host.Loader, name string, module []byte, config string, opts ...func(*host.Config)) (*host.Plugin, error) {
	t.Helper()
	cfg := host.Config{Name: name, Module: module, PluginConfig: []byte(config),
		Timeout: testTimeout, MinInstances: 1, MaxInstances: 2}
	for _, o := range opts {
		o(&cfg)
	}
	p, err := l.Load(context.Background(), cfg)
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { p.Close(context.Background()) })
	return p, nil
}

// process runs p over td and fails the test on an error or a failed
// batch: every batch in these tests is one the plugins must handle.
func process(t testing.TB, p *host.Plugin, td ptrace.Traces) host.Stats {
	t.Helper()
	st, err := p.Process(context.Background(), td)
	if err != nil {
		t.Fatalf("%s: Process: %v", p.Name(), err)
	}
	if st.Failed != 0 || st.Failure != nil {
		t.Fatalf("%s: %d spans in failed batches: %v", p.Name(), st.Failed, st.Failure)
	}
	return st
}

// initMessage is the plugin's own message in a Load error for a failed
// tracelake_init ("" when the error is not one, or carries none).
var initMessage = regexp.MustCompile(`tracelake_init: returned -?\d+: (.*)$`)

func pluginMessage(err error) string {
	if err == nil {
		return ""
	}
	m := initMessage.FindStringSubmatch(err.Error())
	if m == nil || m[1] == "no error message" {
		return ""
	}
	return m[1]
}

// fixtures is the probabilistic plugin's testdata directory.
var fixtures = filepath.Join("rust", "probabilistic", "testdata")

type fixtureCase struct {
	Name      string        `json:"name"`
	Config    string        `json:"config"`
	Threshold string        `json:"threshold"`
	Batch     string        `json:"batch"`
	Spans     []fixtureSpan `json:"spans"`
}

type fixtureSpan struct {
	TraceID    string  `json:"trace_id"`
	TraceState string  `json:"trace_state"`
	Decision   byte    `json:"decision"`
	Edit       *string `json:"edit"`
}

type thresholdCase struct {
	Config       string `json:"config"`
	Threshold    string `json:"threshold"`
	KeepsNothing bool   `json:"keeps_nothing"`
}

func readJSON(t testing.TB, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, file))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func readCases(t testing.TB) []fixtureCase {
	t.Helper()
	var cases []fixtureCase
	readJSON(t, "cases.json", &cases)
	if len(cases) < 5 {
		t.Fatalf("cases.json has %d cases", len(cases))
	}
	return cases
}

func readBatch(t testing.TB, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func traceID(t testing.TB, s string) pcommon.TraceID {
	t.Helper()
	var id pcommon.TraceID
	if b, err := hex.DecodeString(s); err != nil || len(b) != len(id) {
		t.Fatalf("trace ID %q: %v", s, err)
	} else {
		copy(id[:], b)
	}
	return id
}

// spanID is span i's ID: i+1, big-endian, as in the .batch fixtures.
func spanID(i int) pcommon.SpanID {
	var id pcommon.SpanID
	binary.BigEndian.PutUint64(id[:], uint64(i)+1)
	return id
}

// spanIndex is the index of the span whose ID spanID gave.
func spanIndex(id pcommon.SpanID) int {
	return int(binary.BigEndian.Uint64(id[:])) - 1
}

// span is what a test gives a span: everything else is the same for all.
type span struct {
	traceID    pcommon.TraceID
	traceState string
}

// buildTraces makes one resource (service.name "checkout") holding spans
// with unique span IDs (spanID(i)), named "span", as the fixtures do.
func buildTraces(spans []span) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	ss := rs.ScopeSpans().AppendEmpty()
	start := time.Unix(0, 1700000000000000000)
	for i, sp := range spans {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(sp.traceID)
		s.SetSpanID(spanID(i))
		s.SetName("span")
		s.SetKind(ptrace.SpanKindServer)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(1000 * i))))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Duration(1000*i + 1000))))
		if sp.traceState != "" {
			s.TraceState().FromRaw(sp.traceState)
		}
	}
	return td
}

// outcome is what became of the spans of buildTraces: for each span
// index, whether it is still there and its trace state.
type outcome struct {
	kept        []bool
	traceStates []string
}

func outcomeOf(t testing.TB, td ptrace.Traces, n int) outcome {
	t.Helper()
	o := outcome{kept: make([]bool, n), traceStates: make([]string, n)}
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				i := spanIndex(s.SpanID())
				if i < 0 || i >= n || o.kept[i] {
					t.Fatalf("unexpected span %v", s.SpanID())
				}
				o.kept[i], o.traceStates[i] = true, s.TraceState().AsRaw()
			}
		}
	}
	return o
}
