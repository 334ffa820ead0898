package probability

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// The table of tracestate-probability-sampling.md, precision 4.
func TestThresholdFromProbability(t *testing.T) {
	for _, tc := range []struct {
		p    float64
		want string
	}{
		{1, "0"}, {0.5, "8"}, {1.0 / 3, "aaab"}, {0.25, "c"}, {0.2, "cccd"}, {0.125, "e"},
		{0.1, "e666"}, {0.0625, "f"}, {0.01, "fd70a"}, {0.001, "ffbe77"}, {0.0001, "fff9724"},
		{0.00001, "ffff583a"}, {0.000001, "ffffef39"}, {0x1p-56, "ffffffffffffff"},
	} {
		th, err := ThresholdFromProbability(tc.p, DefaultPrecision)
		if err != nil {
			t.Errorf("%v: %v", tc.p, err)
			continue
		}
		if got := th.TValue(); got != tc.want {
			t.Errorf("ThresholdFromProbability(%v) = %s, want %s", tc.p, got, tc.want)
		}
		back, ok := ParseThreshold(tc.want)
		if !ok || back != th {
			t.Errorf("ParseThreshold(%s) = %x, %v; want %x", tc.want, back, ok, th)
		}
	}
	// The spec's 1% example at full precision.
	if th, _ := ThresholdFromProbability(0.01, 5); th.TValue() != "fd70a4" {
		t.Errorf("1%% at precision 5 = %s", th.TValue())
	}
	if th, _ := ThresholdFromProbability(0, 4); th != NeverSample || th.TValue() != "" || th.Probability() != 0 {
		t.Errorf("probability 0 = %x", th)
	}
	for _, p := range []float64{-0.1, 1.5, 0x1p-57} {
		if _, err := ThresholdFromProbability(p, 4); err == nil {
			t.Errorf("probability %v accepted", p)
		}
	}
	if _, err := ThresholdFromProbability(0.5, 15); err == nil {
		t.Error("precision 15 accepted")
	}
	if th, _ := ThresholdFromProbability(0.1, 4); th.Probability() < 0.09999 || th.Probability() > 0.10001 {
		t.Errorf("probability of e666 = %v", th.Probability())
	}
}

func TestParse(t *testing.T) {
	for s, want := range map[string]uint64{"0": 0, "8": 0x80000000000000, "E666": 0xe6660000000000, "ffffffffffffff": 0xffffffffffffff} {
		if th, ok := ParseThreshold(s); !ok || uint64(th) != want {
			t.Errorf("ParseThreshold(%q) = %x, %v", s, th, ok)
		}
	}
	for _, s := range []string{"", "g", "fffffffffffffff", "-1", " 8"} {
		if _, ok := ParseThreshold(s); ok {
			t.Errorf("ParseThreshold(%q) accepted", s)
		}
	}
	if r, ok := ParseRandomness("0123456789abcd"); !ok || r != 0x0123456789abcd {
		t.Errorf("ParseRandomness = %x %v", r, ok)
	}
	for _, s := range []string{"123456789abcd", "0123456789abcde", "0123456789abcg"} {
		if _, ok := ParseRandomness(s); ok {
			t.Errorf("ParseRandomness(%q) accepted", s)
		}
	}
	id := [16]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4, 5, 6, 7}
	if r := TraceIDRandomness(id); r != 0x01020304050607 {
		t.Errorf("TraceIDRandomness = %x", r)
	}
}

func TestParseTraceState(t *testing.T) {
	for ts, want := range map[string]OTel{
		"":                                     {},
		"vendor=x":                             {},
		"ot=th:8":                              {Threshold: 0x80000000000000, HasThreshold: true},
		"a=b , ot=rv:0123456789abcd;th:c ,c=d": {Threshold: 0xc0000000000000, HasThreshold: true, Randomness: 0x0123456789abcd, HasRandomness: true},
		"ot=th:zz;rv:short":                    {},
		"ot=p:8;th:0":                          {HasThreshold: true},
		"ot=th:8,ot=th:c":                      {Threshold: 0x80000000000000, HasThreshold: true},
		"xot=th:8":                             {},
	} {
		if got := ParseTraceState(ts); got != want {
			t.Errorf("ParseTraceState(%q) = %+v, want %+v", ts, got, want)
		}
	}
}

func TestSetThreshold(t *testing.T) {
	c := Threshold(0xc0000000000000)
	long := "ot=th:8;x:" + strings.Repeat("a", 249) // 256 characters of value
	e666 := Threshold(0xe6660000000000)
	var many []string
	for i := range 32 {
		many = append(many, "k"+string(rune('a'+i%26))+string(rune('a'+i/26))+"=v")
	}
	for _, tc := range []struct {
		ts   string
		t    Threshold
		want string
	}{
		{"", c, "ot=th:c"},
		{"vendor=x", c, "ot=th:c,vendor=x"},
		{"a=1, ot=rv:0123456789abcd;th:8;x:y ,b=2", c, "ot=th:c;rv:0123456789abcd;x:y,a=1,b=2"},
		{"ot=th:8;th:4", 0, "ot=th:0"},
		{"a=1,,ot=p:2", c, "ot=th:c;p:2,a=1"},
		{"a=1,ot=th:8", NeverSample, "a=1"},
		{"ot=th:8;rv:0123456789abcd", NeverSample, "ot=rv:0123456789abcd"},
		{long, c, "ot=th:c;x:" + strings.Repeat("a", 249)},
		{long, e666, "ot=x:" + strings.Repeat("a", 249)}, // th:e666 would make it 259: erased
		{strings.Join(many, ","), c, "ot=th:c," + strings.Join(many[:31], ",")},
		{strings.Join(append(many[:31:31], "ot=th:8"), ","), c, "ot=th:c," + strings.Join(many[:31], ",")},
	} {
		if got := SetThreshold(tc.ts, tc.t); got != tc.want {
			t.Errorf("SetThreshold(%q, %x)\n got %q\nwant %q", tc.ts, tc.t, got, tc.want)
		}
	}
}

func idWithRandomness(r uint64) [16]byte {
	var id [16]byte
	for i := 15; i >= 9; i-- {
		id[i] = byte(r)
		r >>= 8
	}
	return id
}

func TestSampler(t *testing.T) {
	s, err := NewSampler(0.25) // T_d = c0000000000000
	if err != nil {
		t.Fatal(err)
	}
	below, above := idWithRandomness(0xbfffffffffffff), idWithRandomness(0xc0000000000000)
	rv := func(r string) string { return "ot=rv:" + r }
	for _, tc := range []struct {
		name   string
		id     [16]byte
		ts     string
		keep   bool
		edit   bool
		wantTS string
	}{
		{"no trace state, below", below, "", false, false, ""},
		{"no trace state, at threshold", above, "", true, true, "ot=th:c"},
		{"other vendors kept", above, "v=1", true, true, "ot=th:c,v=1"},
		{"rv wins over the trace ID", above, rv("00000000000000"), false, false, ""},
		{"rv keeps", below, "ot=rv:ffffffffffffff", true, true, "ot=th:c;rv:ffffffffffffff"},
		{"lower incoming threshold raised", above, "ot=th:8", true, true, "ot=th:c"},
		{"equal incoming threshold: no edit", above, "ot=th:c", true, false, ""},
		{"stricter incoming threshold honoured", idWithRandomness(0xe0000000000000), "ot=th:d", true, false, ""},
		{"inconsistent threshold erased", above, "ot=th:d", true, true, "ot=th:c"},
		{"inconsistent threshold, dropped", below, "ot=th:d", false, false, ""},
		{"malformed threshold replaced", above, "ot=th:xyz", true, true, "ot=th:c"},
	} {
		keep, ts, edit := s.Sample(tc.id, tc.ts)
		if keep != tc.keep || edit != tc.edit || ts != tc.wantTS {
			t.Errorf("%s: Sample = %v, %q, %v; want %v, %q, %v", tc.name, keep, ts, edit, tc.keep, tc.wantTS, tc.edit)
		}
	}

	never, _ := NewSampler(0)
	if keep, _, _ := never.Sample(idWithRandomness(0xffffffffffffff), ""); keep {
		t.Error("probability 0 kept a span")
	}
	if keep, _, _ := never.Sample(idWithRandomness(0xffffffffffffff), "ot=th:0"); keep {
		t.Error("probability 0 kept a span with a trace state")
	}
	all, _ := NewSampler(1)
	if keep, ts, _ := all.Sample([16]byte{}, ""); !keep || ts != "ot=th:0" {
		t.Errorf("probability 1: %v %q", keep, ts)
	}
}

// Consistency: a trace kept at probability p2 is kept at every p1 ≥ p2,
// and the kept fraction is p.
func TestSamplerConsistent(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	ps := []float64{1, 0.5, 0.1, 0.01}
	samplers := make([]Sampler, len(ps))
	for i, p := range ps {
		samplers[i], _ = NewSampler(p)
	}
	kept := make([]int, len(ps))
	const n = 200_000
	for range n {
		var id [16]byte
		for i := range id {
			id[i] = byte(rng.Uint32())
		}
		prev := true
		for i := range samplers {
			keep, _, _ := samplers[i].Sample(id, "")
			if keep && !prev {
				t.Fatalf("trace %x kept at %v but not at %v", id, ps[i], ps[i-1])
			}
			if keep {
				kept[i]++
			}
			prev = keep
		}
	}
	for i, p := range ps {
		got := float64(kept[i]) / n
		if d := got - p; d > 0.01*p+0.002 || d < -0.01*p-0.002 {
			t.Errorf("probability %v kept %v", p, got)
		}
	}
}

func BenchmarkSample(b *testing.B) {
	s, _ := NewSampler(0.1)
	id := idWithRandomness(0xf0000000000000)
	b.Run("empty", func(b *testing.B) {
		for b.Loop() {
			s.Sample(id, "")
		}
	})
	b.Run("vendor", func(b *testing.B) {
		for b.Loop() {
			s.Sample(id, "vendor=abc,ot=th:8;rv:f0000000000000")
		}
	})
}
