package plugintool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/goleak"

	"github.com/tracelake/tracelake/wasm/host"
	"github.com/tracelake/tracelake/wasm/wasmtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// plugins are the host's raw-ABI test plugins (wasm/host/testdata/plugins),
// built by TestMain; cacheDir keeps them compiled across tests.
var (
	plugins  = map[string]string{}
	cacheDir string
)

func TestMain(m *testing.M) {
	flag.Parse()
	code := func() int {
		dir, err := os.MkdirTemp("", "tracelake-plugintool-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		cacheDir = filepath.Join(dir, "cache")
		built, err := wasmtest.BuildGo(dir, map[string]string{
			"rules":   "./wasm/host/testdata/plugins/rules",
			"hostile": "./wasm/host/testdata/plugins/hostile",
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for name := range built {
			plugins[name] = filepath.Join(dir, name+".wasm")
		}
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

func testConfig(plugin, pluginCfg, input string) TestConfig {
	return TestConfig{
		PluginConfig: PluginConfig{Path: plugins[plugin], ConfigString: pluginCfg, Policy: "fail-open", CacheDir: cacheDir},
		Input:        input,
		BatchSize:    host.DefaultMaxBatchSpans,
		Now:          time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC),
	}
}

// stable blanks what changes from run to run or with the toolchain and
// the host: times, the plugin's path and size, the Go runtime's frames in
// a trap's stack trace, and the host's log messages (TestTest checks
// there are some).
func stable(r *TestReport) {
	r.Plugin.Path = filepath.Base(r.Plugin.Path)
	r.Plugin.ModuleBytes = 0
	for i := range r.Batches {
		r.Batches[i].Nanos = 0
		var lines []string
		for j, line := range strings.Split(r.Batches[i].Failure, "\n") {
			if j == 0 || strings.Contains(line, "stack trace") || strings.Contains(line, ".main.") || strings.Contains(line, "tracelake_") {
				lines = append(lines, line)
			}
		}
		r.Batches[i].Failure = strings.Join(lines, "\n")
	}
	r.Summary.Nanos, r.Summary.NanosPerSpan = 0, 0
	r.Logs = []LogRecord{}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestTestGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		cfg    func(*TestConfig)
	}{
		{"rules.txt", func(*TestConfig) {}},
		{"rules.json", func(c *TestConfig) { c.JSON = true }},
		{"rules-batches.txt", func(c *TestConfig) { c.BatchSize = 2 }},
		{"rules-jaeger.txt", func(c *TestConfig) { c.Input = "testdata/jaeger.json" }},
		{"hostile-trap.txt", func(c *TestConfig) {
			c.Path, c.ConfigString, c.Policy, c.BatchSize = plugins["hostile"], "trap", "fail-closed", 3
		}},
		{"hostile-error.json", func(c *TestConfig) {
			c.Path, c.ConfigString, c.JSON = plugins["hostile"], "error", true
		}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			cfg := testConfig("rules", "", "testdata/traces.json")
			tc.cfg(&cfg)
			r, err := runTest(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			stable(r)
			var buf bytes.Buffer
			if cfg.JSON {
				err = r.WriteJSON(&buf)
			} else {
				err = r.WriteText(&buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.golden, buf.Bytes())
		})
	}
}

func TestTest(t *testing.T) {
	for _, tc := range []struct {
		name              string
		plugin, pluginCfg string
		policy            string
		batchSize         int
		wantErr           error // errors.Is; nil: none
		wantLoadErr       string
		wantKept          int
		wantFailedBatches int
	}{
		{name: "rules", plugin: "rules", wantKept: 3},
		{name: "rules in batches of one", plugin: "rules", batchSize: 1, wantKept: 3},
		{name: "whole input in one batch", plugin: "rules", batchSize: 0, wantKept: 3},
		{name: "trap fail-closed", plugin: "hostile", pluginCfg: "trap", policy: "fail-closed", batchSize: 2,
			wantErr: ErrPluginFailed, wantKept: 0, wantFailedBatches: 3},
		{name: "error fail-open", plugin: "hostile", pluginCfg: "error", policy: "fail-open",
			wantErr: ErrPluginFailed, wantKept: 5, wantFailedBatches: 1},
		{name: "bad decision", plugin: "hostile", pluginCfg: "bad-decision", policy: "fail-closed",
			wantErr: ErrPluginFailed, wantKept: 0, wantFailedBatches: 1},
		{name: "well-behaved hostile", plugin: "hostile", pluginCfg: "grow", wantKept: 5},
		{name: "init fails", plugin: "hostile", pluginCfg: "init-fail", wantLoadErr: "refusing to start"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(tc.plugin, tc.pluginCfg, "testdata/traces.json")
			cfg.Policy = tc.policy
			cfg.BatchSize = tc.batchSize
			if tc.name == "rules" {
				cfg.BatchSize = host.DefaultMaxBatchSpans
			}
			cfg.JSON = true
			var out bytes.Buffer
			err := Test(context.Background(), cfg, &out)
			if tc.wantLoadErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantLoadErr) || errors.Is(err, ErrPluginFailed) {
					t.Fatalf("Test = %v, want a load error with %q", err, tc.wantLoadErr)
				}
				return
			}
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Test = %v, want %v", err, tc.wantErr)
			}
			var r TestReport
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("output is not a JSON report: %v\n%s", err, out.Bytes())
			}
			s := r.Summary
			if s.SpansIn != 5 || s.Kept != tc.wantKept || s.Dropped != 5-tc.wantKept || s.FailedBatches != tc.wantFailedBatches {
				t.Errorf("summary %+v; want 5 in, %d kept, %d failed batches", s, tc.wantKept, tc.wantFailedBatches)
			}
			wantBatches := 1
			if cfg.BatchSize > 0 {
				wantBatches = (5 + cfg.BatchSize - 1) / cfg.BatchSize
			}
			if s.Batches != wantBatches || len(r.Batches) != wantBatches {
				t.Errorf("%d batches (%d listed), want %d", s.Batches, len(r.Batches), wantBatches)
			}
			for _, sp := range r.Spans {
				if sp.Failed != (tc.wantFailedBatches > 0) {
					t.Errorf("span %s failed=%v", sp.Name, sp.Failed)
				}
			}
			if s.Nanos <= 0 {
				t.Errorf("plugin time %d ns", s.Nanos)
			}
			if len(r.Warnings) > 0 {
				t.Errorf("warnings: %q", r.Warnings)
			}
			if tc.wantFailedBatches > 0 && len(r.Logs) == 0 {
				t.Error("the host logged nothing about the failure")
			}
		})
	}
}

// TestTestRulesSpans checks the rules plugin's per-span report against
// what the plugin is documented to do.
func TestTestRulesSpans(t *testing.T) {
	cfg := testConfig("rules", "", "testdata/traces.json")
	cfg.BatchSize = 2
	r, err := runTest(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	type want struct {
		decision   string
		batch      int
		deleted    []string
		set        map[string]string // key → new value
		old        map[string]string // key → value before, for changed keys
		traceState *StringChange
	}
	wants := map[string]want{
		"GET /checkout": {decision: "keep", batch: 0, deleted: []string{"secret"},
			set:        map[string]string{"seen": "frontend", "batch": "1"},
			traceState: &StringChange{Old: "ot=th:4,vendor=v1", New: "ot=th:8"}},
		"drop-healthcheck": {decision: "drop", batch: 0},
		"charge": {decision: "keep", batch: 1, set: map[string]string{"seen": "checkout", "batch": "2"},
			old: map[string]string{"seen": "stale"}},
		"drop cache": {decision: "drop", batch: 1},
		"persist": {decision: "keep", batch: 2, set: map[string]string{"seen": "checkout", "batch": "3"},
			traceState: &StringChange{Old: "ot=th:c", New: "ot=th:8"}},
	}
	if len(r.Spans) != len(wants) {
		t.Fatalf("%d spans reported, want %d", len(r.Spans), len(wants))
	}
	for _, s := range r.Spans {
		w, ok := wants[s.Name]
		if !ok {
			t.Errorf("unexpected span %q", s.Name)
			continue
		}
		if s.Decision != w.decision || s.Batch != w.batch {
			t.Errorf("%s: %s in batch %d, want %s in %d", s.Name, s.Decision, s.Batch, w.decision, w.batch)
		}
		var deleted []string
		for _, a := range s.Deleted {
			deleted = append(deleted, a.Key)
		}
		if fmt.Sprint(deleted) != fmt.Sprint(w.deleted) {
			t.Errorf("%s: deleted %v, want %v", s.Name, deleted, w.deleted)
		}
		if len(s.Set) != len(w.set) {
			t.Errorf("%s: set %+v, want %v", s.Name, s.Set, w.set)
		}
		for _, a := range s.Set {
			if a.Value != w.set[a.Key] {
				t.Errorf("%s: set %s = %v, want %q", s.Name, a.Key, a.Value, w.set[a.Key])
			}
			oldWant, changed := w.old[a.Key]
			switch {
			case changed && (a.Old == nil || *a.Old != oldWant):
				t.Errorf("%s: %s was %v, want %q", s.Name, a.Key, a.Old, oldWant)
			case !changed && a.Old != nil:
				t.Errorf("%s: %s reported as changed from %v; it was added", s.Name, a.Key, *a.Old)
			}
		}
		if (s.TraceState == nil) != (w.traceState == nil) || s.TraceState != nil && *s.TraceState != *w.traceState {
			t.Errorf("%s: trace state %+v, want %+v", s.Name, s.TraceState, w.traceState)
		}
	}
	if r.Summary.Edits != 9 || r.Summary.Changes != 9 || r.Summary.ChangedSpans != 3 {
		t.Errorf("summary %+v: want 9 edits and changes on 3 spans", r.Summary)
	}
}

func TestLogCollector(t *testing.T) {
	c := newLogCollector()
	logger := slog.New(c).With("plugin", "p", "k", "v")
	logger.Info("hello", "n", 1)
	logger.Debug("quiet")
	want := []LogRecord{
		{Level: "INFO", Message: "hello", Attrs: map[string]string{"k": "v", "n": "1"}},
		{Level: "DEBUG", Message: "quiet", Attrs: map[string]string{"k": "v"}},
	}
	if got := c.records(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("records %v, want %v", got, want)
	}
}

func TestTestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  func(*TestConfig)
		want string
	}{
		{"no plugin", func(c *TestConfig) { c.Path = "" }, "--plugin is required"},
		{"no input", func(c *TestConfig) { c.Input = "" }, "--input is required"},
		{"both configs", func(c *TestConfig) { c.ConfigFile = "x" }, "exclusive"},
		{"bad policy", func(c *TestConfig) { c.Policy = "fail-sometimes" }, "fail-sometimes"},
		{"missing plugin", func(c *TestConfig) { c.Path = "testdata/nope.wasm" }, "read plugin"},
		{"missing input", func(c *TestConfig) { c.Input = "testdata/nope.json" }, "nope.json"},
		{"not a module", func(c *TestConfig) { c.Path = "testdata/traces.json" }, "not a valid WebAssembly module"},
		{"negative batch size", func(c *TestConfig) { c.BatchSize = -1 }, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig("rules", "x", "testdata/traces.json")
			cfg.PluginConfig.Path = plugins["hostile"]
			tc.cfg(&cfg)
			err := Test(context.Background(), cfg, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Test = %v, want an error with %q", err, tc.want)
			}
		})
	}
}

func TestFlagDefinitions(t *testing.T) {
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	tc := TestFlags(fs)
	if err := fs.Parse([]string{"--plugin", "p.wasm", "--config-string", `{"percent":10}`, "--input", "t.json",
		"--policy", "fail-closed", "--json", "--batch-size", "7", "--now", "2026-11-21T08:00:00Z"}); err != nil {
		t.Fatal(err)
	}
	want := TestConfig{
		PluginConfig: PluginConfig{Path: "p.wasm", ConfigString: `{"percent":10}`, Policy: "fail-closed",
			Timeout: host.DefaultTimeout, MemoryLimitPages: host.DefaultMemoryLimitPages},
		Input: "t.json", BatchSize: 7, JSON: true, Now: time.Date(2026, 11, 21, 8, 0, 0, 0, time.UTC),
	}
	if fmt.Sprintf("%+v", *tc) != fmt.Sprintf("%+v", want) {
		t.Errorf("TestFlags:\n got %+v\nwant %+v", *tc, want)
	}
	if err := tc.Validate(); err != nil {
		t.Error(err)
	}

	fs = pflag.NewFlagSet("bench", pflag.ContinueOnError)
	bc := BenchFlags(fs)
	if err := fs.Parse([]string{"--plugin", "p.wasm", "--batch-sizes", "1,16", "--duration", "10ms"}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(bc.BatchSizes) != "[1 16]" || bc.Duration != 10*time.Millisecond || !bc.Baseline ||
		bc.Instances != DefaultInstances || bc.ColdRuns != DefaultColdRuns || bc.Policy != "fail-open" {
		t.Errorf("BenchFlags: %+v", *bc)
	}
	if err := bc.Validate(); err != nil {
		t.Error(err)
	}
	fs = pflag.NewFlagSet("bench", pflag.ContinueOnError)
	bc = BenchFlags(fs)
	if err := fs.Parse([]string{"--plugin", "p.wasm"}); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(bc.BatchSizes) != fmt.Sprint(DefaultBatchSizes) || bc.Duration != DefaultBenchDuration {
		t.Errorf("BenchFlags defaults: %+v", *bc)
	}
	for _, args := range [][]string{
		{"--plugin", "p.wasm", "--batch-sizes", "0"},
		{"--plugin", "p.wasm", "--duration", "0s"},
		{"--plugin", "p.wasm", "--instances", "1"},
		{"--plugin", "p.wasm", "--cold-runs", "0"},
		{"--batch-sizes", "4"},
	} {
		fs := pflag.NewFlagSet("bench", pflag.ContinueOnError)
		bc := BenchFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := bc.Validate(); err == nil {
			t.Errorf("BenchConfig from %q is valid", args)
		}
	}
}

func TestBench(t *testing.T) {
	for _, tc := range []struct {
		name     string
		input    string
		sizes    []int
		wantKept float64
	}{
		{name: "generated", sizes: []int{3, 1, 16}, wantKept: 100},
		{name: "from a file", input: "testdata/traces.json", sizes: []int{5, 10}, wantKept: 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := BenchConfig{
				PluginConfig: PluginConfig{Path: plugins["rules"], Policy: "fail-open", CacheDir: cacheDir},
				Input:        tc.input, BatchSizes: tc.sizes, Duration: 5 * time.Millisecond,
				Baseline: true, Instances: 2, ColdRuns: 1, Seed: 1, JSON: true,
			}
			var out bytes.Buffer
			r, err := Bench(context.Background(), cfg, &out)
			if err != nil {
				t.Fatal(err)
			}
			var printed BenchReport
			if err := json.Unmarshal(out.Bytes(), &printed); err != nil {
				t.Fatalf("output is not a JSON report: %v\n%s", err, out.Bytes())
			}
			if len(printed.Sizes) != len(tc.sizes) {
				t.Fatalf("%d sizes printed, want %d", len(printed.Sizes), len(tc.sizes))
			}
			for i, s := range append(r.Sizes, r.OneSpan) {
				if i < len(r.Sizes) && i > 0 && s.BatchSpans <= r.Sizes[i-1].BatchSpans {
					t.Errorf("sizes not in order: %d after %d", s.BatchSpans, r.Sizes[i-1].BatchSpans)
				}
				if s.Calls < 1 || s.NanosPerCall <= 0 || s.NanosPerSpan <= 0 || s.SpansPerSecondPerCore <= 0 || s.FailedCalls != 0 {
					t.Errorf("batch %d: implausible %+v", s.BatchSpans, s)
				}
				if s.Baseline == nil || s.Baseline.Calls < 1 || s.Baseline.NanosPerSpan <= 0 || s.PluginNanosPerSpan == nil {
					t.Errorf("batch %d: no baseline: %+v", s.BatchSpans, s)
				}
				if s.BatchSpans >= 5 && s.KeptPercent != tc.wantKept {
					t.Errorf("batch %d: kept %.1f%%, want %.1f%%", s.BatchSpans, s.KeptPercent, tc.wantKept)
				}
			}
			if r.OneSpan.BatchSpans != 1 {
				t.Errorf("one-span figure is for %d spans", r.OneSpan.BatchSpans)
			}
			l := r.Load
			if l.EmptyCacheMillis <= 0 || l.CachedMillis <= 0 || l.ReloadMillis <= 0 || l.CacheBytes <= 0 || l.Instances != 2 || l.Runs != 1 {
				t.Errorf("implausible load figures %+v", l)
			}
			if r.Machine.NumCPU < 1 || r.Machine.GOMAXPROCS < 1 || r.Plugin.Name != "rules" {
				t.Errorf("report header %+v %+v", r.Machine, r.Plugin)
			}
			var text bytes.Buffer
			if err := r.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{"per-span cost", "per-call cost", "empty cache", "cached", "instance", "GOMAXPROCS"} {
				if !strings.Contains(text.String(), want) {
					t.Errorf("text report lacks %q:\n%s", want, text.String())
				}
			}
		})
	}
}

func TestBenchFailingPlugin(t *testing.T) {
	cfg := BenchConfig{
		PluginConfig: PluginConfig{Path: plugins["hostile"], ConfigString: "error", Policy: "fail-closed", CacheDir: cacheDir},
		BatchSizes:   []int{4}, Duration: time.Millisecond, Instances: 2, ColdRuns: 1,
	}
	var out bytes.Buffer
	r, err := Bench(context.Background(), cfg, &out)
	if !errors.Is(err, ErrPluginFailed) {
		t.Fatalf("Bench = %v, want ErrPluginFailed", err)
	}
	if r.Sizes[0].FailedCalls < 1 || !strings.Contains(r.Sizes[0].FirstFailure, "plugin says no") {
		t.Errorf("failures not reported: %+v", r.Sizes[0])
	}
	if !strings.Contains(out.String(), "plugin says no") {
		t.Errorf("text report lacks the failure:\n%s", out.String())
	}
}

func TestBenchInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cfg := BenchConfig{
		PluginConfig: PluginConfig{Path: plugins["rules"], Policy: "fail-open", CacheDir: cacheDir},
		BatchSizes:   []int{4}, Duration: time.Hour, Instances: 2, ColdRuns: 1,
	}
	r, err := Bench(ctx, cfg, &bytes.Buffer{})
	if err == nil {
		t.Fatalf("Bench on a cancelled context = nil error; report %+v", r)
	}
}

// TestBaselineModule checks the hand-assembled baseline plugin loads,
// declares the features it is given, keeps every span and survives
// batches larger than its initial memory.
func TestBaselineModule(t *testing.T) {
	ctx := context.Background()
	l, err := host.NewLoader(host.LoaderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close(ctx)
	for features := range uint32(4) {
		p, err := l.Load(ctx, host.Config{Name: "baseline", Module: baselineModule(features)})
		if err != nil {
			t.Fatalf("features %d: %v", features, err)
		}
		if p.Features() != features {
			t.Errorf("features %d: plugin declares %d", features, p.Features())
		}
		for _, n := range []int{1, 3000} {
			td := resize(readFixture(t, "testdata/traces.json"), n)
			st, err := p.Process(ctx, td)
			if err != nil || st.Failed != 0 || st.Kept != n || st.Edits != 0 {
				t.Errorf("features %d, %d spans: %+v, %v", features, n, st, err)
			}
		}
		p.Close(ctx)
	}
}

func readFixture(t *testing.T, path string) ptrace.Traces {
	t.Helper()
	td, _, err := readTracesFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return td
}

func TestReadTraces(t *testing.T) {
	otlp, err := os.ReadFile("testdata/traces.json")
	if err != nil {
		t.Fatal(err)
	}
	compact := func(b []byte) string {
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	line := compact(otlp)
	for _, tc := range []struct {
		name       string
		in         string
		wantFormat string
		wantSpans  int
		wantErr    string
	}{
		{"OTLP/JSON", string(otlp), FormatOTLP, 5, ""},
		{"JSON lines", line + "\n" + line + "\n", FormatOTLP + ", 2 documents", 10, ""},
		{"api_v3", `{"result":` + line + `}`, FormatAPIv3, 5, ""},
		{"snake case", `{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","name":"x"}]}]}]}`, FormatOTLP, 1, ""},
		{"Jaeger UI", readString(t, "testdata/jaeger.json"), FormatJaegerUI, 3, ""},
		{"Jaeger error", `{"data":null,"errors":[{"code":404,"msg":"trace not found"}]}`, "", 0, "trace not found"},
		{"Jaeger bad tag", `{"data":[{"spans":[{"traceID":"01","spanID":"02","tags":[{"key":"k","type":"int64","value":"x"}],"processID":"p1"}],"processes":{"p1":{"serviceName":"s"}}}]}`, "", 0, `tag "k"`},
		{"Jaeger unknown process", `{"data":[{"spans":[{"traceID":"01","spanID":"02","processID":"p9"}],"processes":{}}]}`, "", 0, "p9"},
		{"empty", ``, "", 0, "no JSON document"},
		{"no spans", `{"resourceSpans":[]}`, "", 0, "no spans"},
		{"unknown", `{"spans":[]}`, "", 0, "not a format"},
		{"not an object", `[1,2]`, "", 0, "not a JSON object"},
		{"broken", `{"resourceSpans":[`, "", 0, "document 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			td, format, err := ReadTraces(strings.NewReader(tc.in))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ReadTraces = %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if format != tc.wantFormat || td.SpanCount() != tc.wantSpans {
				t.Errorf("ReadTraces = %s, %d spans; want %s, %d", format, td.SpanCount(), tc.wantFormat, tc.wantSpans)
			}
		})
	}
}

// TestReadTracesJaeger checks the Jaeger UI conversion keeps what plugins
// see: services, order, kinds, trace state, typed attributes, parents.
func TestReadTracesJaeger(t *testing.T) {
	td := readFixture(t, "testdata/jaeger.json")
	refs := spanRefs(td)
	var got []string
	for _, r := range refs {
		got = append(got, serviceName(r.rs.Resource())+"/"+r.span.Name())
	}
	if want := "[frontend/GET /checkout frontend/render backend/drop me]"; fmt.Sprint(got) != want {
		t.Errorf("spans %v, want %s", got, want)
	}
	root := refs[0].span
	if root.Kind() != ptrace.SpanKindServer || root.TraceState().AsRaw() != "ot=th:4" || root.Events().Len() != 1 {
		t.Errorf("root: kind %v, trace state %q, %d events", root.Kind(), root.TraceState().AsRaw(), root.Events().Len())
	}
	if got := root.EndTimestamp() - root.StartTimestamp(); got != pcommon.Timestamp(150*time.Millisecond) {
		t.Errorf("root lasts %v", time.Duration(got))
	}
	attrs := root.Attributes()
	for key, want := range map[string]any{
		"http.status_code": int64(200), "big.number": int64(9007199254740993), "ratio": 0.25,
		"retry": true, "secret": "hunter2",
	} {
		v, ok := attrs.Get(key)
		if !ok || v.AsRaw() != want {
			t.Errorf("attribute %s = %v, want %v", key, v.AsRaw(), want)
		}
	}
	if v, ok := attrs.Get("payload"); !ok || v.Type() != pcommon.ValueTypeBytes || !bytes.Equal(v.Bytes().AsRaw(), []byte{0xde, 0xad, 0xbe, 0xef}) {
		t.Errorf("payload = %v", v.AsRaw())
	}
	if v, _ := refs[0].rs.Resource().Attributes().Get("host.name"); v.Str() != "web-1" {
		t.Errorf("host.name = %q", v.Str())
	}
	if refs[2].span.ParentSpanID() != root.SpanID() {
		t.Errorf("child's parent %s, want %s", refs[2].span.ParentSpanID(), root.SpanID())
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func FuzzReadTraces(f *testing.F) {
	for _, path := range []string{"testdata/traces.json", "testdata/jaeger.json"} {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"result":{"resourceSpans":[]}}`))
	f.Add([]byte(`{"data":[{"spans":[{"traceID":"1","spanID":"2","processID":"p1","tags":[{"key":"k","type":"binary","value":"AA=="}]}],"processes":{"p1":{"serviceName":"s"}}}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		td, _, err := ReadTraces(bytes.NewReader(b))
		if err == nil && td.SpanCount() == 0 {
			t.Error("no error, but no spans")
		}
	})
}

func TestSplitAndResize(t *testing.T) {
	td := readFixture(t, "testdata/traces.json")
	names := func(td ptrace.Traces) string {
		var s []string
		for _, r := range spanRefs(td) {
			s = append(s, serviceName(r.rs.Resource())+":"+r.ss.Scope().Name()+":"+r.span.Name())
		}
		return strings.Join(s, ",")
	}
	all := names(td)
	for _, n := range []int{0, 1, 2, 3, 5, 9} {
		parts := split(td, n)
		var joined []string
		for i, p := range parts {
			if c := p.SpanCount(); c == 0 || n > 0 && c > n || i < len(parts)-1 && n > 0 && c != n {
				t.Errorf("split %d: part %d has %d spans", n, i, c)
			}
			joined = append(joined, names(p))
		}
		if got := strings.Join(joined, ","); got != all {
			t.Errorf("split %d: spans %s, want %s", n, got, all)
		}
	}
	if parts := split(td, 2); parts[1].ResourceSpans().Len() != 1 {
		t.Errorf("second part of 2 has %d resources; both its spans are checkout's", parts[1].ResourceSpans().Len())
	}
	for _, n := range []int{1, 5, 7, 12} {
		r := resize(td, n)
		if r.SpanCount() != n {
			t.Errorf("resize %d: %d spans", n, r.SpanCount())
		}
	}
	if got := names(resize(td, 7)); got != all+","+strings.Join(strings.Split(all, ",")[:2], ",") {
		t.Errorf("resize 7: %s", got)
	}
}

func TestDiffAttributes(t *testing.T) {
	m := func(kv ...any) pcommon.Map {
		out := pcommon.NewMap()
		if err := out.FromRaw(pairs(kv)); err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct {
		name          string
		before, after pcommon.Map
		want          string
	}{
		{"same", m("a", "x", "n", 1), m("a", "x", "n", 1), "[] []"},
		{"deleted", m("a", "x", "b", true), m("b", true), "[{a x}] []"},
		{"added", m("a", "x"), m("a", "x", "b", "y"), "[] [{b y <nil>}]"},
		{"changed type", m("n", 1), m("n", "1"), "[] [{n 1 1}]"},
		{"changed", m("s", "old"), m("s", "new"), "[] [{s new old}]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			del, set := diffAttributes(tc.before, tc.after)
			var sets []string
			for _, s := range set {
				old := "<nil>"
				if s.Old != nil {
					old = fmt.Sprint(*s.Old)
				}
				sets = append(sets, fmt.Sprintf("{%s %v %s}", s.Key, s.Value, old))
			}
			var dels []string
			for _, d := range del {
				dels = append(dels, fmt.Sprintf("{%s %v}", d.Key, d.Value))
			}
			if got := fmt.Sprintf("[%s] [%s]", strings.Join(dels, " "), strings.Join(sets, " ")); got != tc.want {
				t.Errorf("diff = %s, want %s", got, tc.want)
			}
		})
	}
}

func pairs(kv []any) map[string]any {
	out := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		out[kv[i].(string)] = kv[i+1]
	}
	return out
}
