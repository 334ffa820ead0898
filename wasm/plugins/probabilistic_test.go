package plugins_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracelake/tracelake/wasm/abi"
	"github.com/tracelake/tracelake/wasm/host"
	"github.com/tracelake/tracelake/wasm/sdk/probability"
)

// The tests of the probabilistic plugins follow "What the in-repo tests
// should assert" in rust/probabilistic/testdata/README.md, items 1 to 6;
// keepall_test.go has item 7.

// TestProbabilisticLoad: item 1. The host checks exports and imports
// against FORMAT.md at load; the plugin reads no attributes.
func TestProbabilisticLoad(t *testing.T) {
	t.Parallel()
	bothProbabilistic(t, func(t *testing.T, p impl) {
		pl := load(t, "probabilistic-"+p.lang, p.module, `{"percent": 10}`)
		if f := pl.Features(); f != 0 {
			t.Errorf("features %#x, want 0 (it reads no attributes)", f)
		}
		imports := moduleImports(t, p.module)
		if p.lang == "rust" {
			// No std, no WASI: exactly what it uses of the host.
			if want := []string{"tracelake.error", "tracelake.set_edits"}; !slices.Equal(imports, want) {
				t.Errorf("imports %v, want %v", imports, want)
			}
		}
		for _, imp := range imports {
			if !strings.HasPrefix(imp, abi.ImportModule+".") && !strings.HasPrefix(imp, "wasi_snapshot_preview1.") {
				t.Errorf("imports %s", imp)
			}
		}
		r := newRaw(t, p.module)
		if v := r.call(abi.ExportVersion); v != abi.Version {
			t.Errorf("%s = %d", abi.ExportVersion, v)
		}
		if ret, msg := r.init(`{"percent": 10}`); ret != 0 {
			t.Fatalf("init returned %d: %s", ret, msg)
		}
		if f := r.call(abi.ExportFeatures); f != 0 {
			t.Errorf("%s = %d after init, want 0", abi.ExportFeatures, f)
		}
	})
}

// moduleImports lists a module's imported functions as module.name,
// sorted.
func moduleImports(t testing.TB, module []byte) []string {
	t.Helper()
	var out []string
	for _, f := range rawModule(t, module).ImportedFunctions() {
		m, n, _ := f.Import()
		out = append(out, m+"."+n)
	}
	slices.Sort(out)
	return out
}

// TestProbabilisticCases: item 2, through the host's public API. Dropped
// spans are gone; kept spans carry the expected edit or, without one,
// their own trace state.
func TestProbabilisticCases(t *testing.T) {
	t.Parallel()
	cases := readCases(t)
	bothProbabilistic(t, func(t *testing.T, p impl) {
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				pl := load(t, c.Name, p.module, c.Config)
				spans := make([]span, len(c.Spans))
				wantKept, wantEdits := 0, 0
				for i, s := range c.Spans {
					spans[i] = span{traceID(t, s.TraceID), s.TraceState}
					if s.Decision == abi.Keep {
						wantKept++
						if s.Edit != nil {
							wantEdits++
						}
					}
				}
				td := buildTraces(spans)
				st := process(t, pl, td)
				if st.Kept != wantKept || st.Dropped != len(spans)-wantKept || st.Edits != wantEdits {
					t.Errorf("stats %+v, want %d kept, %d dropped, %d edits", st, wantKept, len(spans)-wantKept, wantEdits)
				}
				got := outcomeOf(t, td, len(spans))
				for i, s := range c.Spans {
					switch {
					case s.Decision == abi.Drop && got.kept[i]:
						t.Errorf("span %d (%s, %q) kept, want dropped", i, s.TraceID, s.TraceState)
					case s.Decision == abi.Keep && !got.kept[i]:
						t.Errorf("span %d (%s, %q) dropped, want kept", i, s.TraceID, s.TraceState)
					case s.Decision == abi.Keep:
						want := s.TraceState
						if s.Edit != nil {
							want = *s.Edit
						}
						if got.traceStates[i] != want {
							t.Errorf("span %d (%s, %q): trace state %q, want %q", i, s.TraceID, s.TraceState, got.traceStates[i], want)
						}
					}
				}
			})
		}
	})
}

// TestProbabilisticCasesABI: item 2 at the ABI level, on the .batch
// fixtures: decision bytes, and one set_edits call iff there are edits,
// whose records are the expected ones in order.
func TestProbabilisticCasesABI(t *testing.T) {
	t.Parallel()
	cases := readCases(t)
	bothProbabilistic(t, func(t *testing.T, p impl) {
		for _, c := range cases {
			t.Run(c.Name, func(t *testing.T) {
				batch := readBatch(t, c.Batch)
				if n := binary.LittleEndian.Uint32(batch[abi.HdrSpanCount:]); int(n) != len(c.Spans) {
					t.Fatalf("%s has %d spans, cases.json %d", c.Batch, n, len(c.Spans))
				}
				r := newRaw(t, p.module)
				if ret, msg := r.init(c.Config); ret != 0 {
					t.Fatalf("init(%s) returned %d: %s", c.Config, ret, msg)
				}
				res := r.sample(batch)
				if res.ret != 0 {
					t.Fatalf("sample returned %d: %s", res.ret, res.errMsg)
				}
				var want []rawEdit
				for i, s := range c.Spans {
					if res.decisions[i] != s.Decision {
						t.Errorf("span %d (%s, %q): decision %d, want %d", i, s.TraceID, s.TraceState, res.decisions[i], s.Decision)
					}
					if s.Edit != nil {
						want = append(want, rawEdit{span: uint32(i), op: abi.OpSetTraceState, value: *s.Edit})
					}
				}
				if want == nil {
					if res.editsCalls != 0 {
						t.Errorf("set_edits called %d times without edits: %+v", res.editsCalls, res.edits)
					}
					return
				}
				if res.editsCalls != 1 {
					t.Fatalf("set_edits called %d times, want once", res.editsCalls)
				}
				if !slices.Equal(res.edits, want) {
					t.Errorf("edits\n got %+v\nwant %+v", res.edits, want)
				}
			})
		}
	})
}

// TestProbabilisticThresholds: item 3, at the ABI level (an instance per
// configuration costs little there; TestProbabilisticCases covers how the
// host applies such an edit). One span that every threshold below 2^56
// keeps, without trace state, gets the edit ot=th:<T>, or is dropped
// without edits when the configuration keeps nothing.
func TestProbabilisticThresholds(t *testing.T) {
	t.Parallel()
	var cases []thresholdCase
	readJSON(t, "thresholds.json", &cases)
	if len(cases) < 10 {
		t.Fatalf("thresholds.json has %d entries", len(cases))
	}
	// threshold-edges.batch's fifth span has trace ID a0a1…a75affffffffffffff
	// and no trace state: cut the batch down to it.
	batch := oneSpanBatch(t, readBatch(t, "threshold-edges.batch"), 4)
	bothProbabilistic(t, func(t *testing.T, p impl) {
		for _, c := range cases {
			r := newRaw(t, p.module)
			if ret, msg := r.init(c.Config); ret != 0 {
				t.Errorf("%s: init returned %d: %s", c.Config, ret, msg)
				continue
			}
			res := r.sample(batch)
			if res.ret != 0 {
				t.Errorf("%s: sample returned %d: %s", c.Config, res.ret, res.errMsg)
				continue
			}
			if c.KeepsNothing {
				if res.decisions[0] != abi.Drop || res.editsCalls != 0 {
					t.Errorf("%s: decision %d, edits %+v; it keeps nothing", c.Config, res.decisions[0], res.edits)
				}
				continue
			}
			want := []rawEdit{{span: 0, op: abi.OpSetTraceState, value: "ot=th:" + c.Threshold}}
			if res.decisions[0] != abi.Keep || res.editsCalls != 1 || !slices.Equal(res.edits, want) {
				t.Errorf("%s: decision %d, %d set_edits calls, edits %+v; want kept with %+v", c.Config, res.decisions[0], res.editsCalls, res.edits, want)
			}
		}
	})
}

// oneSpanBatch cuts batch down to its span i: the header's count is 1 and
// the span records start at span i; everything else stays where it is.
func oneSpanBatch(t testing.TB, batch []byte, i int) []byte {
	t.Helper()
	b := slices.Clone(batch)
	rec := int(binary.LittleEndian.Uint32(b[abi.HdrSpansOffset:])) + i*abi.SpanSize
	if binary.LittleEndian.Uint32(b[abi.HdrSpanCount:]) <= uint32(i) ||
		!slices.Equal(b[rec+9:rec+16], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}) ||
		binary.LittleEndian.Uint32(b[rec+abi.SpanTraceStateLen:]) != 0 {
		t.Fatalf("span %d of the batch is not a span with randomness ffffffffffffff and no trace state", i)
	}
	binary.LittleEndian.PutUint32(b[abi.HdrSpanCount:], 1)
	binary.LittleEndian.PutUint32(b[abi.HdrSpansOffset:], uint32(rec))
	return b
}

// TestProbabilisticInvalidConfigs: item 4. Each configuration fails Load
// with the plugin's own message, and a plugin loaded before keeps working
// with its configuration.
func TestProbabilisticInvalidConfigs(t *testing.T) {
	t.Parallel()
	var configs []string
	readJSON(t, "invalid-configs.json", &configs)
	if len(configs) < 10 {
		t.Fatalf("invalid-configs.json has %d entries", len(configs))
	}
	bothProbabilistic(t, func(t *testing.T, p impl) {
		good := load(t, "probabilistic", p.module, `{"percent": 50}`)
		for _, cfg := range configs {
			pl, err := loadErr(t, "probabilistic", p.module, cfg)
			if err == nil {
				pl.Close(context.Background())
				t.Errorf("%q: loaded", cfg)
				continue
			}
			msg := pluginMessage(err)
			switch {
			case msg == "":
				t.Errorf("%q: %v: no message from the plugin", cfg, err)
			case givesNumber.MatchString(cfg) && strings.Contains(msg, "required"):
				t.Errorf("%q: %q: the configuration gives a percent", cfg, msg)
			}
			t.Logf("%q: %s", cfg, msg)
		}
		// The previous configuration stays in force: 50 % is th 8.
		td := buildTraces([]span{
			{traceID: pcommon.TraceID{15: 0xff, 9: 0x80}},
			{traceID: pcommon.TraceID{15: 0xff, 9: 0x7f}},
		})
		process(t, good, td)
		got := outcomeOf(t, td, 2)
		if !got.kept[0] || got.kept[1] || got.traceStates[0] != "ot=th:8" {
			t.Errorf("after failed loads, the loaded plugin kept %v with %q; want [true false] with ot=th:8", got.kept, got.traceStates)
		}
	})
}

// givesNumber matches a configuration that gives percent a number.
var givesNumber = regexp.MustCompile(`"percent":\s*-?[0-9]`)

// TestProbabilisticMalformed: item 5. A batch the plugin cannot read,
// and a batch before tracelake_init, make tracelake_sample return
// non-zero with a message, without trapping (newRaw's call fails the test
// on a trap).
func TestProbabilisticMalformed(t *testing.T) {
	t.Parallel()
	valid := readBatch(t, "other-entries-kept.batch") // spans with trace states
	u32 := func(b []byte, off int) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
	put := func(b []byte, off int, v uint32) { binary.LittleEndian.PutUint32(b[off:], v) }
	byteArea := func(b []byte) (off, n uint32) { return u32(b, abi.HdrBytesOffset), u32(b, abi.HdrBytesLen) }
	firstTS := func(b []byte) int { // span record offset of span 0's trace state
		return int(u32(b, abi.HdrSpansOffset)) + abi.SpanTraceStateOff
	}
	if u32(valid, firstTS(valid)+4) == 0 {
		t.Fatal("the fixture's first span has no trace state")
	}
	cases := []struct {
		name   string
		mangle func(b []byte) []byte
	}{
		{"short", func(b []byte) []byte { return b[:abi.HeaderSize-1] }},
		{"bad magic", func(b []byte) []byte { copy(b, "TLB2"); return b }},
		{"wrong version", func(b []byte) []byte { put(b, abi.HdrVersion, 2); return b }},
		{"span count past the end", func(b []byte) []byte { put(b, abi.HdrSpanCount, uint32(len(b))/abi.SpanSize+1); return b }},
		{"huge span count", func(b []byte) []byte { put(b, abi.HdrSpanCount, 0xffffffff); return b }},
		{"byte area past the end", func(b []byte) []byte {
			off, _ := byteArea(b)
			put(b, abi.HdrBytesLen, uint32(len(b))-off+1)
			return b
		}},
		{"trace state past the byte area", func(b []byte) []byte {
			// Still inside the batch (the decisions follow the byte area):
			// only a check against the byte area sees it.
			_, n := byteArea(b)
			put(b, firstTS(b), n-1)
			put(b, firstTS(b)+4, 2)
			return b
		}},
		{"trace state far outside", func(b []byte) []byte {
			put(b, firstTS(b), 0xfffffff0)
			put(b, firstTS(b)+4, 0x20)
			return b
		}},
	}
	bothProbabilistic(t, func(t *testing.T, p impl) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				batch := tc.mangle(slices.Clone(valid))
				r := newRaw(t, p.module)
				if ret, msg := r.init(`{"percent": 10}`); ret != 0 {
					t.Fatalf("init returned %d: %s", ret, msg)
				}
				res := r.sample(batch)
				if res.ret == 0 || res.errMsg == "" {
					t.Errorf("sample returned %d with message %q; want non-zero and a message", res.ret, res.errMsg)
				}
				t.Logf("returned %d: %s", res.ret, res.errMsg)
			})
		}
		t.Run("sample before init", func(t *testing.T) {
			r := newRaw(t, p.module)
			res := r.sample(valid)
			if res.ret == 0 || res.errMsg == "" {
				t.Errorf("sample before init returned %d with message %q, decisions %v, edits %+v; want non-zero and a message",
					res.ret, res.errMsg, res.decisions, res.edits)
			}
		})
		t.Run("the valid batch", func(t *testing.T) { // what fails above is the breakage
			r := newRaw(t, p.module)
			if ret, msg := r.init(`{"percent": 10}`); ret != 0 {
				t.Fatalf("init returned %d: %s", ret, msg)
			}
			if res := r.sample(valid); res.ret != 0 {
				t.Errorf("sample returned %d: %s", res.ret, res.errMsg)
			}
		})
	})
}

// randomSpans makes n spans in traces of 1 to 4 spans sharing trace ID and
// trace state, with trace states from none to malformed. Half the
// randomness values (trace IDs' and rv's) are uniform, half within a few
// units of a threshold: the configured ones' and those in the trace
// states, where a wrong comparison would show.
func randomSpans(rng *rand.Rand, n int) []span {
	thresholds := []string{"e666", "ffbe77", "aaab", "4", "f", "fd70a", "8", "e6660000000001", "fd7"}
	randomness := func() uint64 {
		if rng.IntN(2) == 0 {
			return rng.Uint64() & (1<<56 - 1)
		}
		t, _ := probability.ParseThreshold(thresholds[rng.IntN(len(thresholds))])
		return uint64(t) + uint64(rng.IntN(5)) - 2
	}
	hexDigits := func(k int, upper bool) string {
		const lower, up = "0123456789abcdef", "0123456789ABCDEF"
		b := make([]byte, k)
		for i := range b {
			if upper && rng.IntN(2) == 0 {
				b[i] = up[rng.IntN(16)]
			} else {
				b[i] = lower[rng.IntN(16)]
			}
		}
		return string(b)
	}
	th := func() string {
		switch rng.IntN(6) {
		case 0:
			return "th:0"
		case 1:
			return "th:" + hexDigits(1+rng.IntN(14), rng.IntN(8) == 0)
		case 2:
			return "th:" + thresholds[rng.IntN(len(thresholds))]
		case 3:
			return "th:" + hexDigits(15, false) // too long
		case 4:
			return "th:zz"
		}
		return "th:"
	}
	rv := func() string {
		switch rng.IntN(5) {
		case 0:
			return "rv:" + hexDigits(13, false) // too short
		case 1:
			return "rv:" + strings.ToUpper(fmt.Sprintf("%014x", randomness()))
		}
		return fmt.Sprintf("rv:%014x", randomness())
	}
	traceState := func() string {
		switch rng.IntN(12) {
		case 0, 1, 2, 3:
			return ""
		case 4:
			return "vendor=" + hexDigits(3, false)
		case 5:
			return "ot=" + th()
		case 6:
			return "ot=" + rv()
		case 7:
			return "ot=" + th() + ";" + rv() + ",vendor=x"
		case 8:
			return "a=1, ot=p:8;" + rv() + ";" + th() + " ,\tb=2,ot=th:0"
		case 9: // long: the th may not fit in 256 characters
			return "ot=" + th() + ";" + rv() + ";x:" + strings.Repeat("a", 220+rng.IntN(30))
		case 10: // many members
			var b strings.Builder
			for i := range 30 + rng.IntN(5) {
				fmt.Fprintf(&b, "k%d=v,", i)
			}
			return b.String() + "ot=" + th()
		}
		return []string{",,", "ot", "ot=", "ot=;;th", "junk", "ot=rv:;th:;", " ot = th:8 "}[rng.IntN(7)]
	}
	spans := make([]span, 0, n)
	for len(spans) < n {
		var id pcommon.TraceID
		binary.BigEndian.PutUint64(id[:8], rng.Uint64())
		binary.BigEndian.PutUint64(id[8:], uint64(rng.IntN(256))<<56|randomness())
		ts := traceState()
		for k := 1 + rng.IntN(4); k > 0 && len(spans) < n; k-- {
			spans = append(spans, span{id, ts})
		}
	}
	return spans
}

// TestProbabilisticDeterminism: item 6. On random spans and trace states,
// the Go and the Rust plugin, two loads of each, and a batch split in two
// (by the host, and as two requests) all give the kept spans and trace
// states that the Go SDK's probability package computes natively — and so
// the same ones as each other.
func TestProbabilisticDeterminism(t *testing.T) {
	t.Parallel()
	const n = 3000
	rng := rand.New(rand.NewPCG(1, 2))
	for _, percent := range []float64{0.1, 10, 33.333333333333336, 75} {
		spans := randomSpans(rng, n)
		cfg := fmt.Sprintf(`{"percent": %v}`, percent)

		// The model: the Go SDK's probability package, natively.
		sampler, err := probability.NewSampler(percent / 100)
		if err != nil {
			t.Fatal(err)
		}
		want := outcome{kept: make([]bool, n), traceStates: make([]string, n)}
		var dropped, edited, unedited, withState int // kept spans: edited, unedited; with a trace state
		for i, s := range spans {
			keep, ts, edit := sampler.Sample(s.traceID, s.traceState)
			want.kept[i] = keep
			switch {
			case !keep:
				dropped++
				continue
			case edit:
				edited++
				want.traceStates[i] = ts
			default:
				unedited++
				want.traceStates[i] = s.traceState
			}
			if s.traceState != "" {
				withState++
			}
		}
		// Else the comparison below would prove little.
		if dropped == 0 || edited == 0 || unedited == 0 || withState < 10 {
			t.Fatalf("%v%%: the model dropped %d spans, kept %d edited, %d unedited, %d with a trace state: too few of some",
				percent, dropped, edited, unedited, withState)
		}
		t.Logf("%v%%: the model dropped %d spans, kept %d edited, %d unedited, %d with a trace state",
			percent, dropped, edited, unedited, withState)

		t.Run(fmt.Sprint(percent), func(t *testing.T) {
			bothProbabilistic(t, func(t *testing.T, p impl) {
				// Each load processes the spans as one request (in one batch,
				// or in two); the first also as two requests, after that.
				run := func(opts ...func(*host.Config)) (whole, halves outcome) {
					pl := load(t, "probabilistic-"+p.lang, p.module, cfg, opts...)
					td := buildTraces(spans)
					process(t, pl, td)
					whole = outcomeOf(t, td, n)
					for _, part := range [][]span{spans[:n/2], spans[n/2:]} {
						td := buildTraces(part)
						process(t, pl, td)
						o := outcomeOf(t, td, len(part))
						halves.kept = append(halves.kept, o.kept...)
						halves.traceStates = append(halves.traceStates, o.traceStates...)
					}
					return whole, halves
				}
				first, twoRequests := run()
				again, _ := run()
				twoBatches, _ := run(func(c *host.Config) { c.MaxBatchSpans = n/2 + 1 })
				for _, r := range []struct {
					name string
					got  outcome
				}{
					{"one batch", first},
					{"loaded again", again},
					{"two batches", twoBatches},
					{"two requests", twoRequests},
				} {
					diffs := 0
					for i := range spans {
						if r.got.kept[i] != want.kept[i] || r.got.traceStates[i] != want.traceStates[i] {
							if diffs++; diffs <= 5 {
								t.Errorf("%s: span %d (%v, %q): kept %v %q, want %v %q", r.name, i, spans[i].traceID, spans[i].traceState,
									r.got.kept[i], r.got.traceStates[i], want.kept[i], want.traceStates[i])
							}
						}
					}
					if diffs > 5 {
						t.Errorf("%s: %d spans differ", r.name, diffs)
					}
				}
			})
		})
	}
}
