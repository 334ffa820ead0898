package sampling

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// reloadBound is how long a change may take to be served. Generous: the
// machine running the tests may be busy.
const reloadBound = 10 * time.Second

// version is a strategies file whose numbers all derive from v, so that a
// reader can tell a consistent answer from a mix of two files.
func version(v int) string {
	r := float64(v) / 100
	return fmt.Sprintf(`{
		"default_strategy": {"type": "probabilistic", "param": %v,
			"operation_strategies": [{"operation": "/health", "type": "probabilistic", "param": %v}]},
		"service_strategies": [
			{"service": "foo", "type": "probabilistic", "param": %v,
				"operation_strategies": [{"operation": "op", "type": "probabilistic", "param": %v}]},
			{"service": "bar", "type": "ratelimiting", "param": %d}
		]}`, r, r, r, r, v)
}

// versionOf returns the version foo's strategy comes from, or an error if
// one answer mixes parts of different versions (foo's own operation, the
// default operation merged into it, its default probability; bar's rate
// and the default operations merged into it).
func versionOf(p *Provider) (int, error) {
	foo, _ := p.GetSamplingStrategy("foo")
	r := foo.ProbabilisticSampling.SamplingRate
	ops := foo.OperationSampling
	if ops.DefaultSamplingProbability != r || len(ops.PerOperationStrategies) != 2 ||
		ops.PerOperationStrategies[0].ProbabilisticSampling.SamplingRate != r ||
		ops.PerOperationStrategies[1].ProbabilisticSampling.SamplingRate != r {
		return 0, fmt.Errorf("foo mixes versions: %v", foo)
	}
	bar, _ := p.GetSamplingStrategy("bar")
	br := float64(bar.RateLimitingSampling.MaxTracesPerSecond) / 100
	if bar.OperationSampling.DefaultSamplingProbability != br || bar.OperationSampling.PerOperationStrategies[0].ProbabilisticSampling.SamplingRate != br {
		return 0, fmt.Errorf("bar mixes versions: %v", bar)
	}
	return int(r*100 + 0.5), nil
}

// lockedBuffer collects log output written from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type reloadEnv struct {
	t    *testing.T
	dir  string
	path string
	p    *Provider
	logs *lockedBuffer
	reg  *prometheus.Registry
}

// newReloadEnv writes version 1 to a file in a temporary directory and
// returns a provider of it, not yet running.
func newReloadEnv(t *testing.T) *reloadEnv {
	t.Helper()
	e := &reloadEnv{t: t, dir: t.TempDir(), logs: &lockedBuffer{}, reg: prometheus.NewRegistry()}
	e.path = filepath.Join(e.dir, "strategies.json")
	writeFile(t, e.path, version(1))
	var err error
	e.p, err = NewProvider(e.path, slog.New(slog.NewTextHandler(e.logs, nil)), e.reg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// run runs the provider until the test ends.
func (e *reloadEnv) run() {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- e.p.Run(ctx) }()
	e.t.Cleanup(func() {
		cancel()
		if err := <-errc; err != nil {
			e.t.Errorf("Run: %v", err)
		}
	})
	// Run watches before its first select; give it a moment so that the
	// first change is not made before the watch exists. (A change made
	// earlier is still found by the poll, just later.)
	time.Sleep(50 * time.Millisecond)
}

// replace writes data to the file the way careful tools do: a temporary
// file renamed over it.
func (e *reloadEnv) replace(data string) {
	e.t.Helper()
	tmp := filepath.Join(e.dir, ".strategies.json.tmp")
	writeFile(e.t, tmp, data)
	if err := os.Rename(tmp, e.path); err != nil {
		e.t.Fatal(err)
	}
}

func (e *reloadEnv) waitVersion(v int) {
	e.t.Helper()
	e.eventually(fmt.Sprintf("version %d served", v), func() bool {
		got, err := versionOf(e.p)
		if err != nil {
			e.t.Fatal(err)
		}
		return got == v
	})
}

func (e *reloadEnv) waitFailures(n float64) {
	e.t.Helper()
	e.eventually(fmt.Sprintf("%v failed reloads counted", n), func() bool { return e.failures() >= n })
}

func (e *reloadEnv) failures() float64 {
	return testutil.ToFloat64(e.p.metrics.reloads.WithLabelValues("failure"))
}

func (e *reloadEnv) eventually(what string, cond func() bool) {
	e.t.Helper()
	start := time.Now()
	defer func() { e.t.Logf("%s after %v", what, time.Since(start)) }()
	deadline := time.Now().Add(reloadBound)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("not within %v: %s\nlogs:\n%s", reloadBound, what, e.logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReload(t *testing.T) {
	e := newReloadEnv(t)
	e.p.pollInterval = time.Hour // only fsnotify can notice
	e.run()
	e.waitVersion(1)

	e.replace(version(2))
	e.waitVersion(2)

	// An in-place rewrite, as editors without safe-write and echo > do.
	writeFile(t, e.path, version(3))
	e.waitVersion(3)

	// A bad file is refused, logged and counted; the old one stays.
	before := e.failures()
	e.replace(`{"service_strategies": [{"service": "foo", "type": "probabilistic", "param": 2}]}`)
	e.waitFailures(before + 1)
	if v, err := versionOf(e.p); err != nil || v != 3 {
		t.Fatalf("after a bad file: version %d, %v; want 3", v, err)
	}
	if got := testutil.ToFloat64(e.p.metrics.lastReloadOK); got != 0 {
		t.Errorf("last_reload_successful %v after a failure", got)
	}
	if !strings.Contains(e.logs.String(), `param 2 is not a sampling probability`) {
		t.Errorf("the failure is not logged with its reason:\n%s", e.logs)
	}

	e.replace(version(4))
	e.waitVersion(4)
	if got := testutil.ToFloat64(e.p.metrics.lastReloadOK); got != 1 {
		t.Errorf("last_reload_successful %v after a success", got)
	}

	// Deleted: the old strategies stay; recreated: served.
	before = e.failures()
	if err := os.Remove(e.path); err != nil {
		t.Fatal(err)
	}
	e.waitFailures(before + 1)
	if v, _ := versionOf(e.p); v != 4 {
		t.Fatalf("after deletion: version %d, want 4", v)
	}
	writeFile(t, e.path, version(5))
	e.waitVersion(5)
}

// A Kubernetes ConfigMap volume: the file is a symlink through ..data to
// a timestamped directory, and an update swaps ..data atomically. The
// file's own path sees no event at all.
func TestReloadKubernetesConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	mount := func(ts string, data string) {
		if err := os.Mkdir(filepath.Join(dir, ts), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, ts, "strategies.json"), data)
		if err := os.Symlink(ts, filepath.Join(dir, "..data_tmp")); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	mount("..2026_01_01_00_00_00.000000001", version(1))
	if err := os.Symlink(filepath.Join("..data", "strategies.json"), filepath.Join(dir, "strategies.json")); err != nil {
		t.Fatal(err)
	}
	p, err := NewProvider(filepath.Join(dir, "strategies.json"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.pollInterval = time.Hour
	e := &reloadEnv{t: t, dir: dir, path: filepath.Join(dir, "strategies.json"), p: p, logs: &lockedBuffer{}}
	e.run()
	e.waitVersion(1)

	mount("..2026_01_01_00_01_00.000000002", version(2))
	if err := os.RemoveAll(filepath.Join(dir, "..2026_01_01_00_00_00.000000001")); err != nil {
		t.Fatal(err)
	}
	e.waitVersion(2)
}

// Where fsnotify sees nothing, the poll still finds the change; and an
// unchanged bad file is reported once, not at every poll.
func TestReloadPollingOnly(t *testing.T) {
	e := newReloadEnv(t)
	e.p.useWatcher = false
	e.p.pollInterval = 10 * time.Millisecond
	e.run()

	e.replace(version(2))
	e.waitVersion(2)

	before := e.failures()
	e.replace(`{not json`)
	e.waitFailures(before + 1)
	time.Sleep(100 * time.Millisecond) // ten more polls of the same bad file
	if got := e.failures(); got != before+1 {
		t.Errorf("an unchanged bad file counted %v times, want once", got-before)
	}
	if n := strings.Count(e.logs.String(), "not reloaded"); n != 1 {
		t.Errorf("an unchanged bad file logged %d times, want once", n)
	}

	e.replace(version(3))
	e.waitVersion(3)
}

// Readers racing reloads see one whole version or the next, never a mix.
func TestReloadIsAtomic(t *testing.T) {
	e := newReloadEnv(t)
	e.p.useWatcher = false
	e.p.pollInterval = time.Millisecond
	e.run()

	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			for !stop.Load() {
				if _, err := versionOf(e.p); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for v := 2; v <= 20; v++ {
		e.replace(version(v))
		e.waitVersion(v)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestNewProvider(t *testing.T) {
	t.Run("missing file", func(t *testing.T) {
		_, err := NewProvider(filepath.Join(t.TempDir(), "nope.json"), nil, nil)
		if err == nil || !strings.Contains(err.Error(), "nope.json") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("invalid file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.json")
		writeFile(t, path, `{"default_strategy": {"type": "probabilistic", "param": 1.5}}`)
		_, err := NewProvider(path, nil, nil)
		if err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), "default_strategy: param 1.5") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("rate limits SDKs will not apply are logged", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "strategies.json")
		writeFile(t, path, string(readTestdata(t, "strategies.json")))
		var logs lockedBuffer
		if _, err := NewProvider(path, slog.New(slog.NewTextHandler(&logs, nil)), nil); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "services=[bar]") {
			t.Errorf("no warning about bar's rate limit:\n%s", logs.String())
		}
	})
	t.Run("directory", func(t *testing.T) {
		if _, err := NewProvider(t.TempDir(), nil, nil); err == nil {
			t.Fatal("a directory was accepted as a strategies file")
		}
	})
	t.Run("metrics of the loaded file", func(t *testing.T) {
		e := newReloadEnv(t)
		sum := sha256.Sum256([]byte(version(1)))
		want := fmt.Sprintf(`
# HELP tracelake_sampling_strategies_info The sampling strategies being served: the file's path (empty for the built-in default) and the SHA-256 of its content. Always 1.
# TYPE tracelake_sampling_strategies_info gauge
tracelake_sampling_strategies_info{path=%q,sha256=%q} 1
# HELP tracelake_sampling_strategies_reloads_total Loads of the sampling strategies file, by result (success, failure); the first load counts.
# TYPE tracelake_sampling_strategies_reloads_total counter
tracelake_sampling_strategies_reloads_total{result="failure"} 0
tracelake_sampling_strategies_reloads_total{result="success"} 1
# HELP tracelake_sampling_strategies_services Services with a strategy of their own in the strategies being served.
# TYPE tracelake_sampling_strategies_services gauge
tracelake_sampling_strategies_services 2
# HELP tracelake_sampling_strategies_last_reload_successful 1 if the last attempt to load a changed sampling strategies file succeeded, 0 if the previous strategies are still served because it failed.
# TYPE tracelake_sampling_strategies_last_reload_successful gauge
tracelake_sampling_strategies_last_reload_successful 1
`, e.path, hex.EncodeToString(sum[:]))
		if err := testutil.GatherAndCompare(e.reg, strings.NewReader(want),
			"tracelake_sampling_strategies_info", "tracelake_sampling_strategies_reloads_total",
			"tracelake_sampling_strategies_services", "tracelake_sampling_strategies_last_reload_successful"); err != nil {
			t.Fatal(err)
		}
		if ts := testutil.ToFloat64(e.p.metrics.lastReloadOKSeconds); ts < float64(time.Now().Add(-time.Minute).Unix()) {
			t.Errorf("last_reload_success_timestamp_seconds %v", ts)
		}
	})
	t.Run("no file", func(t *testing.T) {
		p, reg := newTestProvider(t, "")
		if got, _ := p.GetSamplingStrategy("x"); got.ProbabilisticSampling.SamplingRate != DefaultSamplingProbability {
			t.Fatalf("got %v", got)
		}
		if n, err := testutil.GatherAndCount(reg, "tracelake_sampling_strategies_info"); n != 1 || err != nil {
			t.Fatalf("info series %d, %v", n, err)
		}
		// Run without a file only waits.
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer cancel()
		if err := p.Run(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestRunTwice(t *testing.T) {
	e := newReloadEnv(t)
	e.run()
	if err := e.p.Run(context.Background()); err != errRunning {
		t.Fatalf("second Run: %v, want errRunning", err)
	}
}
