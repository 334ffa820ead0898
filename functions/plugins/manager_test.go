package plugins

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/objstoretest"
	"github.com/tracelake/tracelake/wasm/host"
)

func TestBeforeApplyEverythingPassesThrough(t *testing.T) {
	m, _ := newManager(t, Options{})
	if got := process(t, m, "acme"); got != "keep-a:: drop-b::" {
		t.Fatalf("got %q", got)
	}
}

func TestDefaultAndTenantChains(t *testing.T) {
	dir := t.TempDir()
	rules := writeModule(t, dir, "rules.wasm", modules["rules"])
	tag := writeModule(t, dir, "tag.wasm", modules["tag"])
	m, _ := newManager(t, Options{})
	err := m.Apply(context.Background(), Chains{
		Default: []Spec{rulesSpec(rules, "rules")},
		Tenants: map[string][]Spec{
			"acme":  {tagSpec(tag, "acme")},
			"quiet": {}, // explicitly none
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]string{
		"other":         "keep-a::seen",
		"single-tenant": "keep-a::seen",
		"acme":          "keep-a:acme: drop-b:acme:",
		"quiet":         "keep-a:: drop-b::",
	} {
		if got := process(t, m, tenant); got != want {
			t.Errorf("tenant %s: got %q, want %q", tenant, got, want)
		}
	}
	// The quiet tenant's spans were not touched at all.
	td, _ := m.Process(context.Background(), "quiet", traces("a"))
	if _, ok := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).Attributes().Get("secret"); !ok {
		t.Error("a tenant without plugins had its spans changed")
	}
}

func TestChainOrder(t *testing.T) {
	dir := t.TempDir()
	rules := writeModule(t, dir, "rules.wasm", modules["rules"])
	tag := writeModule(t, dir, "tag.wasm", modules["tag"])
	m, _ := newManager(t, Options{})
	a, b := tagSpec(tag, "a"), tagSpec(tag, "b")
	err := m.Apply(context.Background(), Chains{
		Default: []Spec{a, b},
		Tenants: map[string][]Spec{
			"reversed": {b, a},
			"mixed":    {a, rulesSpec(rules, "rules"), b},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for tenant, want := range map[string]string{
		"x":        "keep-a:a/b: drop-b:a/b:",
		"reversed": "keep-a:b/a: drop-b:b/a:",
		"mixed":    "keep-a:a/b:seen",
	} {
		if got := process(t, m, tenant); got != want {
			t.Errorf("tenant %s: got %q, want %q", tenant, got, want)
		}
	}
	// Chains share the plugins they have in common.
	if n := len(m.cur.Load().entries); n != 3 {
		t.Errorf("%d plugins loaded for 3 distinct ones", n)
	}
}

func TestUnchangedPluginsAreReused(t *testing.T) {
	dir := t.TempDir()
	rules := writeModule(t, dir, "rules.wasm", modules["rules"])
	tag := writeModule(t, dir, "tag.wasm", modules["tag"])
	m, reg := newManager(t, Options{})
	ctx := context.Background()
	base := Chains{Default: []Spec{rulesSpec(rules, "rules"), tagSpec(tag, "a")}}
	if err := m.Apply(ctx, base); err != nil {
		t.Fatal(err)
	}
	rulesPlugin := m.cur.Load().def[0].plugin

	// The same configuration again: nothing happens.
	if err := m.Apply(ctx, base); err != nil {
		t.Fatal(err)
	}
	if n := reloads(m, "ok"); n != 1 {
		t.Errorf("applying the configuration in force counted as a reload (%d)", n)
	}

	// A new tenant chain: only its plugin is loaded.
	more := Chains{Default: base.Default, Tenants: map[string][]Spec{"acme": {tagSpec(tag, "z")}}}
	if err := m.Apply(ctx, more); err != nil {
		t.Fatal(err)
	}
	// A changed configuration of one plugin: only that one is loaded.
	changed := Chains{Default: []Spec{rulesSpec(rules, "rules"), {Name: "a", Source: tag, Config: []byte("a2"), MaxInstances: 2, Timeout: testTimeout}}, Tenants: more.Tenants}
	if err := m.Apply(ctx, changed); err != nil {
		t.Fatal(err)
	}
	for plugin, want := range map[string]int{"rules": 1, "a": 2, "z": 1} {
		if got := loads(m, plugin); got != want {
			t.Errorf("%s loaded %d times, want %d", plugin, got, want)
		}
	}
	if m.cur.Load().def[0].plugin != rulesPlugin {
		t.Error("the unchanged plugin was replaced")
	}
	if got := process(t, m, "x"); got != "keep-a:a2:seen" {
		t.Errorf("got %q", got)
	}
	if got := process(t, m, "acme"); got != "keep-a:z: drop-b:z:" {
		t.Errorf("got %q", got)
	}
	// The replaced plugin is closed: 3 alive.
	if n := live(m); n != 3 {
		t.Errorf("%d plugins alive, want 3", n)
	}
	if got := testutil.ToFloat64(m.metrics.loaded); got != 3 {
		t.Errorf("tracelake_plugins_loaded = %v", got)
	}
	if n, err := testutil.GatherAndCount(reg, "tracelake_plugins_config_info"); err != nil || n != 1 {
		t.Errorf("config info series: %d, %v; want exactly the one in force", n, err)
	}
}

func TestFileChangeReloads(t *testing.T) {
	dir := t.TempDir()
	// tag and hostile both take the configuration "x": tag appends it to
	// the path, hostile does nothing with it.
	path := writeModule(t, dir, "p.wasm", modules["tag"])
	m, _ := newManager(t, Options{PollInterval: 20 * time.Millisecond})
	chains := Chains{Default: []Spec{{Name: "p", Source: path, Config: []byte("x"), MaxInstances: 2, Timeout: testTimeout}}}
	if err := m.Apply(context.Background(), chains); err != nil {
		t.Fatal(err)
	}
	var polls atomic.Int64
	stop := run(t, m, func(context.Context) (Chains, error) {
		polls.Add(1)
		return chains, nil
	})
	defer stop()
	waitPolls := func(n int64) {
		from := polls.Load()
		eventually(t, "polls", func() bool { return polls.Load() >= from+n })
	}

	// A touch without change does not reload, nor does a rewrite with the
	// same content.
	waitPolls(2)
	future := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	waitPolls(3)
	writeModule(t, dir, "p.wasm", modules["tag"])
	waitPolls(3)
	if n := loads(m, "p"); n != 1 {
		t.Fatalf("p loaded %d times after a touch", n)
	}
	if got := process(t, m, "x"); got != "keep-a:x: drop-b:x:" {
		t.Fatalf("got %q", got)
	}

	// New content reloads within a poll or two.
	writeModule(t, dir, "p.wasm", modules["hostile"])
	eventually(t, "the reload", func() bool { return process(t, m, "x") == "keep-a:: drop-b::" })
	if n := loads(m, "p"); n != 2 {
		t.Errorf("p loaded %d times", n)
	}
	if n := live(m); n != 1 {
		t.Errorf("%d plugins alive; the replaced one should be closed", n)
	}
}

// memoryBuckets serves one in-memory bucket for every object URL, and
// records the URLs opened.
type memoryBuckets struct {
	objstore.Bucket
	mu     sync.Mutex
	opened []string
}

func (b *memoryBuckets) open(_ context.Context, url string) (objstore.Bucket, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.opened = append(b.opened, url)
	return objstore.Prefixed(b.Bucket, "dir"), nil
}

func put(t *testing.T, b objstore.Bucket, key string, data []byte) {
	t.Helper()
	if err := b.Put(context.Background(), key, bytes.NewReader(data), int64(len(data))); err != nil {
		t.Fatal(err)
	}
}

func TestObjectChangeReloads(t *testing.T) {
	mem := &memoryBuckets{Bucket: objstoretest.NewMemory()}
	put(t, mem, "dir/p.wasm", modules["tag"])
	m, _ := newManager(t, Options{PollInterval: 20 * time.Millisecond, OpenBucket: mem.open})
	chains := Chains{Default: []Spec{{Name: "p", Source: "s3://plugins/dir/p.wasm?endpoint=localhost:9000&insecure=true", Config: []byte("x"), MaxInstances: 2, Timeout: testTimeout}}}
	if err := m.Apply(context.Background(), chains); err != nil {
		t.Fatal(err)
	}
	if got := process(t, m, "x"); got != "keep-a:x: drop-b:x:" {
		t.Fatalf("got %q", got)
	}
	var polls atomic.Int64
	stop := run(t, m, func(context.Context) (Chains, error) {
		polls.Add(1)
		return chains, nil
	})
	defer stop()

	// The same bytes stored again: a new ETag, the same content, no reload.
	put(t, mem, "dir/p.wasm", modules["tag"])
	from := polls.Load()
	eventually(t, "polls", func() bool { return polls.Load() >= from+3 })
	if n := loads(m, "p"); n != 1 {
		t.Fatalf("p loaded %d times after a rewrite with the same content", n)
	}

	put(t, mem, "dir/p.wasm", modules["hostile"])
	eventually(t, "the reload", func() bool { return process(t, m, "x") == "keep-a:: drop-b::" })
	stop()
	mem.mu.Lock()
	defer mem.mu.Unlock()
	if len(mem.opened) != 1 || mem.opened[0] != "s3://plugins/dir?endpoint=localhost:9000&insecure=true" {
		t.Errorf("opened buckets %q; want the plugin's directory, once", mem.opened)
	}
}

// run runs m.Run with source until the returned stop is called.
func run(t *testing.T, m *Manager, source func(context.Context) (Chains, error)) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, source) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestBadPluginsAreRejected(t *testing.T) {
	dir := t.TempDir()
	rules := writeModule(t, dir, "rules.wasm", modules["rules"])
	tag := writeModule(t, dir, "tag.wasm", modules["tag"])
	hostile := writeModule(t, dir, "hostile.wasm", modules["hostile"])
	badversion := writeModule(t, dir, "badversion.wasm", modules["badversion"])
	notWasm := writeModule(t, dir, "not.wasm", []byte("#!/bin/sh\necho not wasm\n"))
	mem := &memoryBuckets{Bucket: objstoretest.NewMemory()}

	for _, tc := range []struct {
		name string
		bad  Spec
		want string
	}{
		{"wrong ABI version", Spec{Name: "bad", Source: badversion}, "ABI version 2"},
		{"init fails", Spec{Name: "bad", Source: hostile, Config: []byte("init-fail")}, "refusing to start"},
		{"not wasm", Spec{Name: "bad", Source: notWasm}, "not a valid WebAssembly module"},
		{"missing file", Spec{Name: "bad", Source: filepath.Join(dir, "missing.wasm")}, "no such file"},
		{"missing object", Spec{Name: "bad", Source: "s3://plugins/dir/missing.wasm"}, "not found"},
		{"invalid settings", Spec{Name: "bad", Source: tag, Timeout: -time.Second}, "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs syncBuffer
			m, _ := newManager(t, Options{OpenBucket: mem.open, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
			ctx := context.Background()
			good := Chains{Default: []Spec{rulesSpec(rules, "rules")}, Tenants: map[string][]Spec{"acme": {tagSpec(tag, "a")}}}
			if err := m.Apply(ctx, good); err != nil {
				t.Fatal(err)
			}
			before := m.cur.Load()
			// A good new plugin beside the bad one is loaded, then closed.
			next := Chains{
				Default: []Spec{rulesSpec(rules, "rules"), tagSpec(tag, "new")},
				Tenants: map[string][]Spec{"acme": {tagSpec(tag, "a"), tc.bad}},
			}
			err := m.Apply(ctx, next)
			if err == nil {
				t.Fatal("the bad plugin was accepted")
			}
			for _, want := range []string{`"bad"`, "tenant acme", tc.want} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			if m.cur.Load() != before {
				t.Error("the chains in force changed")
			}
			if got := process(t, m, "x"); got != "keep-a::seen" {
				t.Errorf("default chain after the rejection: %q", got)
			}
			if got := process(t, m, "acme"); got != "keep-a:a: drop-b:a:" {
				t.Errorf("acme's chain after the rejection: %q", got)
			}
			if n := live(m); n != 2 {
				t.Errorf("%d plugins alive, want the 2 in force", n)
			}
			if reloads(m, "error") != 1 || testutil.ToFloat64(m.metrics.lastSuccessful) != 0 {
				t.Error("the rejection was not counted")
			}
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), `\"bad\"`) {
				t.Errorf("the rejection was not logged as a warning naming the plugin:\n%s", logs.String())
			}
			// Fixed, it goes in.
			next.Tenants["acme"] = next.Tenants["acme"][:1]
			if err := m.Apply(ctx, next); err != nil {
				t.Fatal(err)
			}
			if got := process(t, m, "x"); got != "keep-a:new:seen" {
				t.Errorf("got %q", got)
			}
			if testutil.ToFloat64(m.metrics.lastSuccessful) != 1 {
				t.Error("last reload not successful after a good one")
			}
		})
	}
}

func TestFirstApplyNeedsReadableSources(t *testing.T) {
	m, _ := newManager(t, Options{})
	err := m.Apply(context.Background(), Chains{Default: []Spec{{Name: "p", Source: filepath.Join(t.TempDir(), "p.wasm")}}})
	if err == nil || !strings.Contains(err.Error(), `plugin "p" of the default chain`) {
		t.Fatalf("Apply = %v", err)
	}
}

func TestUnreadableSourceKeepsTheVersionInForce(t *testing.T) {
	dir := t.TempDir()
	path := writeModule(t, dir, "p.wasm", modules["rules"])
	var logs syncBuffer
	m, _ := newManager(t, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx := context.Background()
	spec := Spec{Name: "p", Source: path, MaxInstances: 2, Timeout: testTimeout}
	if err := m.Apply(ctx, Chains{Default: []Spec{spec}}); err != nil {
		t.Fatal(err)
	}
	// A bad version is read and rejected; then the file goes away.
	writeModule(t, dir, "p.wasm", modules["badversion"])
	if err := m.Apply(ctx, Chains{Default: []Spec{spec}}); err == nil {
		t.Fatal("the bad version was accepted")
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	// Unchanged: nothing to do, the plugin keeps running.
	if err := m.Apply(ctx, Chains{Default: []Spec{spec}}); err != nil {
		t.Fatal(err)
	}
	// Changed settings load from the version in force, not from the
	// rejected one read last.
	spec.Policy = host.FailClosed
	if err := m.Apply(ctx, Chains{Default: []Spec{spec}}); err != nil {
		t.Fatal(err)
	}
	if n := loads(m, "p"); n != 2 {
		t.Errorf("p loaded %d times", n)
	}
	if got := process(t, m, "x"); got != "keep-a::seen" {
		t.Errorf("got %q", got)
	}
	if !strings.Contains(logs.String(), "using the version in force") {
		t.Errorf("not logged:\n%s", logs.String())
	}
}

func TestRunRejectsBadChangesAndRecovers(t *testing.T) {
	dir := t.TempDir()
	path := writeModule(t, dir, "p.wasm", modules["tag"])
	m, _ := newManager(t, Options{PollInterval: 20 * time.Millisecond})
	chains := Chains{Default: []Spec{{Name: "p", Source: path, Config: []byte("x"), MaxInstances: 2, Timeout: testTimeout}}}
	if err := m.Apply(context.Background(), chains); err != nil {
		t.Fatal(err)
	}
	var polls atomic.Int64
	var sourceErr atomic.Pointer[error]
	stop := run(t, m, func(context.Context) (Chains, error) {
		polls.Add(1)
		if err := sourceErr.Load(); err != nil {
			return Chains{}, *err
		}
		return chains, nil
	})
	defer stop()
	waitPolls := func(n int64) {
		from := polls.Load()
		eventually(t, "polls", func() bool { return polls.Load() >= from+n })
	}

	writeModule(t, dir, "p.wasm", modules["badversion"])
	eventually(t, "the rejection", func() bool { return reloads(m, "error") == 1 })
	waitPolls(5)
	if n := reloads(m, "error"); n != 1 {
		t.Errorf("the same rejected plugin was retried: %d rejections", n)
	}
	if got := process(t, m, "x"); got != "keep-a:x: drop-b:x:" {
		t.Errorf("got %q", got)
	}

	// A configuration that cannot be read is rejected once too.
	err := errors.New("yaml: line 3: did not find expected key")
	sourceErr.Store(&err)
	waitPolls(5)
	if n := reloads(m, "error"); n != 2 {
		t.Errorf("%d rejections, want 2", n)
	}
	sourceErr.Store(nil)

	writeModule(t, dir, "p.wasm", modules["hostile"])
	eventually(t, "the reload", func() bool { return process(t, m, "x") == "keep-a:: drop-b::" })
	if testutil.ToFloat64(m.metrics.lastSuccessful) != 1 {
		t.Error("last reload not successful")
	}
}

// TestInFlightRequestKeepsItsPlugins: a request that acquired the chains
// before a swap runs them to the end; their plugins close when it ends.
func TestInFlightRequestKeepsItsPlugins(t *testing.T) {
	dir := t.TempDir()
	tag := writeModule(t, dir, "tag.wasm", modules["tag"])
	m, _ := newManager(t, Options{})
	ctx := context.Background()
	if err := m.Apply(ctx, Chains{Default: []Spec{tagSpec(tag, "old")}}); err != nil {
		t.Fatal(err)
	}
	s := m.acquire()
	if err := m.Apply(ctx, Chains{Default: []Spec{tagSpec(tag, "new")}}); err != nil {
		t.Fatal(err)
	}
	if got := process(t, m, "x"); got != "keep-a:new: drop-b:new:" {
		t.Errorf("a new request got %q", got)
	}
	old := s.def[0].plugin
	td := traces("keep-a")
	if _, err := old.Process(ctx, td); err != nil || outcome(td) != "keep-a:old:" {
		t.Fatalf("the request in flight lost its plugin: %v, %q", err, outcome(td))
	}
	if n := live(m); n != 2 {
		t.Errorf("%d plugins alive, want the old (in use) and the new", n)
	}
	m.release(ctx, s)
	if n := live(m); n != 1 {
		t.Errorf("%d plugins alive after the last request on the old chains", n)
	}
	if _, err := old.Process(ctx, traces("a")); err == nil {
		t.Error("the replaced plugin is still open")
	}
}

func TestClose(t *testing.T) {
	dir := t.TempDir()
	tag := writeModule(t, dir, "tag.wasm", modules["tag"])
	m := NewManager(loader, Options{})
	ctx := context.Background()
	if err := m.Apply(ctx, Chains{Default: []Spec{tagSpec(tag, "a")}}); err != nil {
		t.Fatal(err)
	}
	s := m.acquire()
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := m.Close(short); err == nil {
		t.Error("Close returned while a request used the plugins")
	}
	if _, err := m.Process(ctx, "x", traces("a")); !errors.Is(err, ErrClosed) {
		t.Errorf("Process after Close: %v", err)
	}
	if err := m.Apply(ctx, Chains{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close: %v", err)
	}
	if _, err := s.def[0].plugin.Process(ctx, traces("a")); err != nil {
		t.Errorf("the request in flight lost its plugin: %v", err)
	}
	m.release(ctx, s)
	if n := live(m); n != 0 {
		t.Errorf("%d plugins alive after the last request", n)
	}
	if err := m.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
