package plugins

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/tracelake/tracelake/wasm/host"
	"github.com/tracelake/tracelake/wasm/wasmtest"
)

// modules are the test plugins, built by TestMain: the host's raw-ABI
// plugins (rules, hostile, badversion; see wasm/host/testdata/plugins) and
// this package's tag (testdata/plugins/tag).
var modules map[string][]byte

// loader is shared by every test, so each module is compiled once.
// loaderLogs are its logs: plugin failures.
var (
	loader     *host.Loader
	loaderLogs syncBuffer
)

// testTimeout bounds a batch in tests that check what plugins did: the
// default (250ms) is too short on a busy machine, and a timed-out batch is
// kept unprocessed (fail-open), which would look like a missing plugin.
const testTimeout = 30 * time.Second

func TestMain(m *testing.M) {
	code := func() int {
		dir, err := os.MkdirTemp("", "tracelake-plugins-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		var cacheDir string
		modules, cacheDir, err = wasmtest.BuildGoPrecompiled(dir, map[string]string{
			"rules":      "./wasm/host/testdata/plugins/rules",
			"hostile":    "./wasm/host/testdata/plugins/hostile",
			"badversion": "./wasm/host/testdata/plugins/badversion",
			"tag":        "./functions/plugins/testdata/plugins/tag",
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if loader, err = host.NewLoader(host.LoaderConfig{CacheDir: cacheDir, Logger: slog.New(slog.NewTextHandler(&loaderLogs, nil))}); err != nil {
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

// newManager returns a Manager with its own registry, closed at the end of
// the test.
func newManager(t *testing.T, opts Options) (*Manager, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	m := NewManager(loader, opts)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return m, reg
}

// writeModule writes a module into dir, atomically (as a deployment
// should), and returns its path.
func writeModule(t *testing.T, dir, file string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, file)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// tagSpec is a tag plugin that appends its name to each span's "path".
func tagSpec(path, name string) Spec {
	return Spec{Name: name, Source: path, Config: []byte(name), MaxInstances: 2, Timeout: testTimeout}
}

func rulesSpec(path, name string) Spec {
	return Spec{Name: name, Source: path, MaxInstances: 2, Timeout: testTimeout}
}

// traces builds one resource with spans named as given, each with a
// "secret" attribute.
func traces(names ...string) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "svc")
	ss := rs.ScopeSpans().AppendEmpty()
	for i, name := range names {
		s := ss.Spans().AppendEmpty()
		s.SetTraceID(pcommon.TraceID{byte(i + 1)})
		s.SetSpanID(pcommon.SpanID{byte(i + 1)})
		s.SetName(name)
		s.Attributes().PutStr("secret", "hunter2")
	}
	return td
}

// outcome describes what a chain did to traces("keep-a", "drop-b"): the
// spans kept, each with its "path" and whether rules saw it, e.g.
// "keep-a:x1/x2:seen drop-b::".
func outcome(td ptrace.Traces) string {
	var out []string
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				path, _ := s.Attributes().Get("path")
				_, seen := s.Attributes().Get("seen")
				o := s.Name() + ":" + path.Str() + ":"
				if seen {
					o += "seen"
				}
				out = append(out, o)
			}
		}
	}
	return strings.Join(out, " ")
}

// process runs tenant's chain over traces("keep-a", "drop-b").
func process(t testing.TB, m *Manager, tenant string) string {
	t.Helper()
	td, err := m.Process(context.Background(), tenant, traces("keep-a", "drop-b"))
	if err != nil {
		t.Fatalf("Process(%s): %v", tenant, err)
	}
	return outcome(td)
}

func loads(m *Manager, plugin string) int {
	return int(testutil.ToFloat64(m.metrics.loads.WithLabelValues(plugin, "ok")))
}

func reloads(m *Manager, result string) int {
	return int(testutil.ToFloat64(m.metrics.reloads.WithLabelValues(result)))
}

func live(m *Manager) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.live
}

// eventually polls cond until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// syncBuffer is a log destination tests can read while the Manager writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
