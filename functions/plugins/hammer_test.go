package plugins

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tracelake/tracelake/wasm/host"
)

// TestSwapHammer: requests run continuously while the configuration
// alternates between two sets of chains. No request fails, each is
// processed by exactly one whole chain of one configuration, a plugin
// common to both is never reloaded, and at the end every plugin is closed
// and no goroutine is left.
func TestSwapHammer(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	rules := writeModule(t, dir, "rules.wasm", modules["rules"])
	tag := writeModule(t, dir, "tag.wasm", modules["tag"])
	x := Chains{
		Default: []Spec{tagSpec(tag, "x1"), rulesSpec(rules, "rules"), tagSpec(tag, "x2")},
		Tenants: map[string][]Spec{"acme": {tagSpec(tag, "ax")}},
	}
	y := Chains{
		Default: []Spec{tagSpec(tag, "y"), rulesSpec(rules, "rules")},
		Tenants: map[string][]Spec{"acme": {tagSpec(tag, "drop-all")}},
	}
	// What each configuration does to traces("keep-a", "drop-b").
	want := map[string]map[string]string{
		"default": {"keep-a:x1/x2:seen": "x", "keep-a:y:seen": "y"},
		"acme":    {"keep-a:ax: drop-b:ax:": "x", "": "y"},
	}

	defer func() {
		if t.Failed() {
			t.Logf("host logs:\n%s", loaderLogs.String())
		}
	}()
	m := NewManager(loader, Options{})
	ctx := context.Background()
	var plugins []*host.Plugin // every plugin ever in force
	apply := func(c Chains) {
		t.Helper()
		if err := m.Apply(ctx, c); err != nil {
			t.Fatal(err)
		}
		for _, e := range m.cur.Load().entries {
			plugins = append(plugins, e.plugin)
		}
	}
	apply(x)

	swaps := 16
	if raceEnabled {
		swaps = 6
	}
	var (
		stop     atomic.Bool
		requests atomic.Int64
		seen     sync.Map // tenant/config → count
		wg       sync.WaitGroup
		errs     = make(chan error, 8)
	)
	for w := range 4 {
		tenant := []string{"default", "acme"}[w%2]
		wg.Go(func() {
			for !stop.Load() {
				td, err := m.Process(ctx, tenant, traces("keep-a", "drop-b"))
				if err != nil {
					errs <- fmt.Errorf("request failed during swaps: %w", err)
					return
				}
				got := outcome(td)
				config, ok := want[tenant][got]
				if !ok {
					errs <- fmt.Errorf("tenant %s: %q is the work of no whole chain", tenant, got)
					return
				}
				n, _ := seen.LoadOrStore(tenant+"/"+config, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
				requests.Add(1)
			}
		})
	}
	for i := range swaps {
		// Let requests run on each configuration.
		from := requests.Load()
		deadline := time.Now().Add(10 * time.Second)
		for requests.Load() < from+8 && time.Now().Before(deadline) && len(errs) == 0 {
			time.Sleep(time.Millisecond)
		}
		if i%2 == 0 {
			apply(y)
		} else {
			apply(x)
		}
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for _, k := range []string{"default/x", "default/y", "acme/x", "acme/y"} {
		n, ok := seen.Load(k)
		if !ok || n.(*atomic.Int64).Load() == 0 {
			t.Errorf("no request ran on %s", k)
		}
	}
	if n := loads(m, "rules"); n != 1 {
		t.Errorf("the plugin common to both configurations was loaded %d times", n)
	}
	if n := loads(m, "x1"); n != swaps/2+1 {
		t.Errorf("x1 loaded %d times, want %d", n, swaps/2+1)
	}

	closeCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := m.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	if n := live(m); n != 0 {
		t.Errorf("%d plugins alive after Close", n)
	}
	for _, p := range plugins {
		if _, err := p.Process(ctx, traces("a")); err == nil {
			t.Errorf("plugin %s still open after Close", p.Name())
		}
	}
}
