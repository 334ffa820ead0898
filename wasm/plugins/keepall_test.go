package plugins_test

import (
	"fmt"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracelake/tracelake/wasm/abi"
	"github.com/tracelake/tracelake/wasm/wasmtest"
)

// bothKeepAll runs fn as a subtest for the Go and the Rust keep-all
// plugin; the Rust one skips when it is not built.
func bothKeepAll(t *testing.T, fn func(t *testing.T, p impl)) {
	t.Run("go", func(t *testing.T) { fn(t, impl{"go", goPlugins["keep-all"]}) })
	t.Run("rust", func(t *testing.T) { fn(t, impl{"rust", wasmtest.Prebuilt(t, "rust-keep-all.wasm")}) })
}

// TestKeepAll: item 7, through the host. Every span is kept and none is
// edited, for requests of 0, 1 and 1000 spans (a third with trace states,
// which it must leave alone).
func TestKeepAll(t *testing.T) {
	t.Parallel()
	bothKeepAll(t, func(t *testing.T, p impl) {
		pl := load(t, "keep-all-"+p.lang, p.module, "")
		if f := pl.Features(); f != 0 {
			t.Errorf("features %#x, want 0", f)
		}
		for _, n := range []int{0, 1, 1000} {
			spans := make([]span, n)
			for i := range spans {
				spans[i].traceID = pcommon.TraceID{0: byte(i), 1: byte(i >> 8), 15: 1}
				if i%3 == 0 {
					spans[i].traceState = fmt.Sprintf("ot=th:8,vendor=%d", i)
				}
			}
			td := buildTraces(spans)
			st := process(t, pl, td)
			if st.Kept != n || st.Dropped != 0 || st.Edits != 0 {
				t.Errorf("%d spans: stats %+v", n, st)
			}
			got := outcomeOf(t, td, n)
			for i, s := range spans {
				if !got.kept[i] || got.traceStates[i] != s.traceState {
					t.Errorf("%d spans: span %d kept %v with %q, want kept with %q", n, i, got.kept[i], got.traceStates[i], s.traceState)
					break
				}
			}
		}
		if _, err := loadErr(t, "keep-all-"+p.lang, p.module, `{"percent": 10}`); err == nil {
			t.Error("loaded with a configuration it does not take")
		}
	})
}

// TestKeepAllABI: item 7 at the ABI level, on every .batch fixture: return
// 0, every decision 0, no set_edits. The Rust one imports nothing at all.
func TestKeepAllABI(t *testing.T) {
	t.Parallel()
	cases := readCases(t)
	bothKeepAll(t, func(t *testing.T, p impl) {
		if p.lang == "rust" {
			if imports := moduleImports(t, p.module); len(imports) != 0 {
				t.Errorf("imports %v, want none", imports)
			}
		}
		r := newRaw(t, p.module)
		if p.lang == "go" { // the Rust one has no tracelake_init
			if ret, msg := r.init(""); ret != 0 {
				t.Fatalf("init returned %d: %s", ret, msg)
			}
		}
		for _, c := range cases {
			res := r.sample(readBatch(t, c.Batch))
			if res.ret != 0 || res.editsCalls != 0 || res.errMsg != "" {
				t.Errorf("%s: returned %d (%q), %d set_edits calls", c.Batch, res.ret, res.errMsg, res.editsCalls)
			}
			if want := make([]byte, len(c.Spans)); !slices.Equal(res.decisions, want) {
				t.Errorf("%s: decisions %v", c.Batch, res.decisions)
			}
		}
		if v := r.call(abi.ExportFeatures); v != 0 {
			t.Errorf("features %d", v)
		}
	})
}
