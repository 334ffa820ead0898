// Package probability implements OpenTelemetry's consistent probability
// sampling for plugins: 56-bit rejection thresholds, the randomness of a
// trace (its trace ID's low 56 bits, or the explicit `rv` of its trace
// state), and reading and updating the `th` sub-key of the `ot` entry of a
// W3C trace state. The specification is OpenTelemetry's
// specification/trace/tracestate-probability-sampling.md and
// tracestate-handling.md.
//
// A span is kept iff R ≥ T, where R is the trace's randomness and T the
// threshold; since R is the same for every span of a trace, every sampler
// using this package keeps all of a trace's spans or none, on every
// instance of every process, without coordination.
//
// It never allocates except to build an updated trace state.
package probability

import (
	"errors"
	"math"
	"strconv"
	"unsafe"
)

// MaxAdjustedCount is 2^56, the number of distinct 56-bit randomness
// values.
const MaxAdjustedCount = 1 << 56

// Threshold is a rejection threshold: of 2^56 equally likely randomness
// values, the number rejected. 0 keeps everything.
type Threshold uint64

const (
	// AlwaysSample keeps every span (th:0).
	AlwaysSample Threshold = 0
	// NeverSample keeps nothing. It is not a valid th value: zero
	// probability is not probability sampling.
	NeverSample Threshold = MaxAdjustedCount
)

// DefaultPrecision is the number of significant hex digits OpenTelemetry
// recommends for thresholds (and the Collector's probabilistic sampler
// uses): enough to be within 0.01% of the configured probability.
const DefaultPrecision = 4

const maxDigits = 14

// ThresholdFromProbability converts a probability in [2^-56, 1] to a
// threshold, T = 2^56 − round(p × 2^56), rounded to precision significant
// hex digits (more when p is near 0 or 1, so the relative error stays
// small) as the OpenTelemetry Collector's pkg/sampling does. Probability
// 0 gives NeverSample.
func ThresholdFromProbability(p float64, precision int) (Threshold, error) {
	switch {
	case p == 0:
		return NeverSample, nil
	case !(p >= 0x1p-56 && p <= 1):
		return 0, errors.New("probability " + strconv.FormatFloat(p, 'g', -1, 64) + " is not 0 or in [2^-56, 1]")
	case p == 1:
		return AlwaysSample, nil
	case precision < 1 || precision > maxDigits:
		return 0, errors.New("precision " + strconv.Itoa(precision) + " is not in [1, 14]")
	}
	// Each leading 0 or f hex digit of the threshold raises the precision
	// by one, so that precision counts significant digits.
	_, expP := math.Frexp(p)
	_, expQ := math.Frexp(1 - p)
	precision = min(maxDigits, max(precision+expP/-4, precision+expQ/-4))
	t := uint64(MaxAdjustedCount) - uint64(math.Round(p*MaxAdjustedCount))
	if shift := 4 * (maxDigits - precision); shift != 0 {
		t = (t + 1<<(shift-1)) >> shift << shift
	}
	return Threshold(min(t, MaxAdjustedCount-1)), nil
}

// Probability is the probability of keeping a span: (2^56 − T) / 2^56.
func (t Threshold) Probability() float64 {
	return float64(MaxAdjustedCount-min(uint64(t), MaxAdjustedCount)) / MaxAdjustedCount
}

// Keeps reports whether a span with randomness r is kept: r ≥ t.
func (t Threshold) Keeps(r Randomness) bool { return uint64(r) >= uint64(t) }

// TValue is the threshold as a th value: 14 lower-case hex digits with
// trailing zeros removed, "0" for AlwaysSample; "" for NeverSample, which
// has none.
func (t Threshold) TValue() string { return string(t.AppendTValue(nil)) }

// AppendTValue appends the th value to b.
func (t Threshold) AppendTValue(b []byte) []byte {
	if t >= NeverSample {
		return b
	}
	if t == 0 {
		return append(b, '0')
	}
	var d [maxDigits]byte
	n := 0
	for i := range d {
		d[i] = hexDigits[(uint64(t)>>(4*(maxDigits-1-i)))&0xf]
		if d[i] != '0' {
			n = i + 1
		}
	}
	return append(b, d[:n]...)
}

const hexDigits = "0123456789abcdef"

// ParseThreshold parses a th value: 1 to 14 hex digits, extended with
// trailing zeros to 14.
func ParseThreshold(s string) (Threshold, bool) {
	v, ok := parseHex(s)
	if !ok {
		return 0, false
	}
	return Threshold(v << (4 * (maxDigits - len(s)))), true
}

// Randomness is a trace's 56-bit randomness value.
type Randomness uint64

// TraceIDRandomness is the randomness of a trace ID: its least
// significant 56 bits (bytes 9 to 15, big-endian), random by W3C Trace
// Context Level 2.
func TraceIDRandomness(id [16]byte) Randomness {
	return Randomness(uint64(id[9])<<48 | uint64(id[10])<<40 | uint64(id[11])<<32 |
		uint64(id[12])<<24 | uint64(id[13])<<16 | uint64(id[14])<<8 | uint64(id[15]))
}

// ParseRandomness parses an rv value: exactly 14 hex digits.
func ParseRandomness(s string) (Randomness, bool) {
	if len(s) != maxDigits {
		return 0, false
	}
	v, ok := parseHex(s)
	return Randomness(v), ok
}

func parseHex(s string) (uint64, bool) {
	if len(s) == 0 || len(s) > maxDigits {
		return 0, false
	}
	var v uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | uint64(c)
	}
	return v, true
}

// OTel is what a trace state's `ot` entry says about sampling.
type OTel struct {
	Threshold     Threshold // th, when HasThreshold
	HasThreshold  bool
	Randomness    Randomness // rv, when HasRandomness
	HasRandomness bool
}

// ParseTraceState reads the th and rv sub-keys of ts's first `ot` entry.
// Malformed values count as absent.
func ParseTraceState(ts string) OTel {
	var o OTel
	ot, _, ok := findOT(ts)
	if !ok {
		return o
	}
	for rest, more := ot, true; more; {
		var sub string
		sub, rest, more = next(rest, ';')
		k, v, _ := cut(sub, ':')
		switch k {
		case "th":
			if !o.HasThreshold {
				o.Threshold, o.HasThreshold = ParseThreshold(v)
			}
		case "rv":
			if !o.HasRandomness {
				o.Randomness, o.HasRandomness = ParseRandomness(v)
			}
		}
	}
	return o
}

// Trace state limits: W3C's 32 list members, OpenTelemetry's 256
// characters for the ot entry's value.
const (
	maxMembers = 32
	maxOTLen   = 256
)

// SetThreshold returns ts with its `ot` entry's th set to t, following
// the specifications' rules: the ot entry's other sub-keys and the other
// entries are kept, the updated ot entry moves to the front (W3C), and if
// that would make the ot value longer than 256 characters the th is
// erased instead (a span whose probability cannot be recorded must not
// carry a wrong one). NeverSample erases th.
func SetThreshold(ts string, t Threshold) string {
	ot, idx, _ := findOT(ts)
	b := make([]byte, 0, len(ts)+24)
	b = append(b, "ot="...)
	start := len(b)
	if t < NeverSample {
		b = append(b, "th:"...)
		b = t.AppendTValue(b)
	}
	b = appendSubs(b, ot, start)
	if len(b)-start > maxOTLen {
		b = appendSubs(b[:start], ot, start)
	}
	members := 0
	if len(b) > start {
		members = 1
	} else {
		b = b[:0] // nothing left in ot: drop the entry
	}
	i := 0
	for rest, more := ts, ts != ""; more; {
		var m string
		m, rest, more = next(rest, ',')
		m = trimOWS(m)
		if m == "" || i == idx {
			i++
			continue
		}
		i++
		if members == maxMembers {
			break // W3C: the list must not exceed 32 members; drop from the end
		}
		if len(b) > 0 {
			b = append(b, ',')
		}
		b = append(b, m...)
		members++
	}
	return unsafe.String(unsafe.SliceData(b), len(b)) // b is never written again
}

// appendSubs appends the sub-keys of ot other than th.
func appendSubs(b []byte, ot string, start int) []byte {
	for rest, more := ot, true; more; {
		var sub string
		sub, rest, more = next(rest, ';')
		if sub == "" || sub == "th" || len(sub) > 2 && sub[:3] == "th:" {
			continue
		}
		if len(b) > start {
			b = append(b, ';')
		}
		b = append(b, sub...)
	}
	return b
}

// findOT returns the value of ts's first `ot` entry and its index among
// the comma-separated members (-1 when there is none).
func findOT(ts string) (ot string, idx int, ok bool) {
	for i, rest, more := 0, ts, true; more; i++ {
		var m string
		m, rest, more = next(rest, ',')
		if k, v, _ := cut(trimOWS(m), '='); k == "ot" {
			return v, i, true
		}
	}
	return "", -1, false
}

// next splits s at the first sep: the field before it, the rest after
// it, and whether there was a sep (so a rest, possibly empty, follows).
func next(s string, sep byte) (field, rest string, more bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func cut(s string, sep byte) (before, after string, found bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func trimOWS(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// Sampler is an equalizing downstream sampler (the specification's term):
// it samples spans at a configured threshold T_d, without lowering the
// threshold a span already carries.
type Sampler struct {
	t     Threshold
	fresh string // the trace state of a kept span that had none
}

// NewSampler returns a sampler keeping probability p of traces (0 keeps
// none), with thresholds of DefaultPrecision.
func NewSampler(p float64) (Sampler, error) {
	t, err := ThresholdFromProbability(p, DefaultPrecision)
	if err != nil {
		return Sampler{}, err
	}
	return Sampler{t: t, fresh: "ot=th:" + t.TValue()}, nil
}

// Threshold is the sampler's threshold T_d.
func (s *Sampler) Threshold() Threshold { return s.t }

// Sample decides a span of the trace traceID with trace state ts:
//
//   - R is the ot entry's rv if it has a valid one, else the trace ID's
//     low 56 bits;
//   - the span's own threshold T_s (its th) counts only if valid and
//     consistent (R ≥ T_s); otherwise it is erased, as the specification
//     requires of apparently inconsistent thresholds;
//   - T = max(T_d, T_s): a downstream sampler may raise a threshold,
//     never lower it;
//   - the span is kept iff R ≥ T, and then carries th = T.
//
// When the span is kept and its trace state must change, Sample returns
// the new trace state and edit = true.
func (s *Sampler) Sample(traceID [16]byte, ts string) (keep bool, newTS string, edit bool) {
	if ts == "" {
		// The common case: no parsing, no allocation.
		if !s.t.Keeps(TraceIDRandomness(traceID)) { // NeverSample is above every R
			return false, "", false
		}
		return true, s.fresh, true
	}
	return s.sample(traceID, ts)
}

func (s *Sampler) sample(traceID [16]byte, ts string) (keep bool, newTS string, edit bool) {
	o := ParseTraceState(ts)
	r := TraceIDRandomness(traceID)
	if o.HasRandomness {
		r = o.Randomness
	}
	t := s.t
	consistent := o.HasThreshold && o.Threshold.Keeps(r)
	if consistent && o.Threshold > t {
		t = o.Threshold
	}
	if !t.Keeps(r) {
		return false, "", false
	}
	if consistent && o.Threshold == t {
		return true, "", false
	}
	return true, SetThreshold(ts, t), true
}
