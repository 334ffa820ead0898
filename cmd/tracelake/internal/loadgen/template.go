package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/tracegen"
)

// childSpans is the children per trace: telemetrygen's default shape, one
// client span and one server span, which the size target is quoted for.
const (
	childSpans    = 1
	spansPerTrace = 1 + childSpans
)

// A template is one encoded export request and where, in its bytes, every
// ID and timestamp sits, so a send can make a fresh request by copying the
// bytes and overwriting those places: no marshalling per send.
//
// The places are found by searching the encoding for each value, which
// works because the template's IDs are random: 8 random bytes, or their 16
// hex digits, turn up nowhere else. A span ID and every copy naming it as
// a parent are the same value, so they are found, and overwritten,
// together; likewise a trace ID in every span of its trace. A trace ID's
// halves are searched for apart, since Jaeger writes them as two fields.
type template struct {
	wire   wire
	data   []byte
	traces int
	// traceIDs holds, per trace, the offsets of its ID's halves.
	traceIDs []traceIDPlaces
	// spanIDs holds, per span, the offsets of its ID and of the parent
	// span IDs equal to it.
	spanIDs [][]int
	// times holds the offsets of every time, timeLen bytes each, and
	// timeVals their values in data, in the wire's unit.
	times    []int
	timeVals []int64
	timeLen  int
	// base and last are the earliest and the latest time in data; a send
	// shifts every time by now-base.
	base, last int64
}

type traceIDPlaces struct{ hi, lo []int }

func (t *template) spans() int { return t.traces * spansPerTrace }

// newTemplate encodes a telemetrygen-shaped request of traces traces
// starting at now. It checks that patching it changes exactly the IDs and
// times and nothing else, so a future encoding that defeats the search
// fails here rather than sending garbage.
func newTemplate(w wire, rng *rand.Rand, traces int, now time.Time) (*template, error) {
	var err error
	for range 3 { // an ID colliding with other bytes is astronomically rare; retry anyway
		var t *template
		if t, err = locate(w, tracegen.Telemetrygen(rng, traces, childSpans, now), traces); err == nil {
			if err = t.check(rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))); err == nil {
				return t, nil
			}
		}
	}
	return nil, fmt.Errorf("build %s request template: %w", w.name(), err)
}

// locate encodes td, which holds traces traces, and finds where in the
// encoding its IDs and times are.
func locate(w wire, td ptrace.Traces, traces int) (*template, error) {
	data, err := w.encode(td)
	if err != nil {
		return nil, err
	}
	d, err := w.decode(data)
	if err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	spans, err := d.stamps()
	if err != nil {
		return nil, fmt.Errorf("decode template: %w", err)
	}
	t := &template{wire: w, data: data, traces: traces}
	if len(spans) != t.spans() {
		return nil, fmt.Errorf("encoded %d spans, want %d", len(spans), t.spans())
	}
	var pat []byte
	findID := func(id uint64) []int {
		pat = w.appendID(pat[:0], id)
		return findAll(data, pat)
	}
	refs := w.parentRefs()
	unit := int64(w.unit())
	seenTrace := map[[16]byte]bool{}
	seenTime := map[int64]bool{}
	for i, s := range spans {
		if !seenTrace[s.trace] {
			seenTrace[s.trace] = true
			hi, lo := traceHalves(s.trace)
			p := traceIDPlaces{hi: findID(hi), lo: findID(lo)}
			if want := spansPerTrace + childSpans*refs; len(p.hi) != want || len(p.lo) != want {
				return nil, fmt.Errorf("trace ID %x found %d and %d times, want %d", s.trace, len(p.hi), len(p.lo), want)
			}
			t.traceIDs = append(t.traceIDs, p)
		}
		want := 1
		if s.parent == 0 {
			want += childSpans * (1 + refs)
		}
		offs := findID(s.span)
		if len(offs) != want {
			return nil, fmt.Errorf("span ID %016x found %d times, want %d", s.span, len(offs), want)
		}
		t.spanIDs = append(t.spanIDs, offs)
		times := []int64{s.start / unit}
		if w.endTimes() {
			times = append(times, s.end/unit)
		}
		for _, v := range times {
			if i == 0 || v < t.base {
				t.base = v
			}
			if i == 0 || v > t.last {
				t.last = v
			}
			if seenTime[v] {
				continue
			}
			seenTime[v] = true
			pat = w.appendTime(pat[:0], v)
			if t.timeLen == 0 {
				t.timeLen = len(pat)
			} else if len(pat) != t.timeLen {
				return nil, fmt.Errorf("times written in %d and %d bytes", t.timeLen, len(pat))
			}
			for _, off := range findAll(data, pat) {
				t.times = append(t.times, off)
				t.timeVals = append(t.timeVals, v)
			}
		}
	}
	if len(t.traceIDs) != traces {
		return nil, fmt.Errorf("found %d trace IDs, want %d", len(t.traceIDs), traces)
	}
	want := t.spans()
	if w.endTimes() {
		want *= 2
	}
	if len(t.times) != want {
		return nil, fmt.Errorf("found %d times, want %d", len(t.times), want)
	}
	return t, nil
}

func findAll(data, v []byte) []int {
	var offs []int
	for i := 0; ; {
		j := bytes.Index(data[i:], v)
		if j < 0 {
			return offs
		}
		offs = append(offs, i+j)
		i += j + 1
	}
}

// patch writes a fresh request into dst (grown as needed) and returns it,
// with the IDs of its traces, in order, appended to ids: the template with
// new random IDs from rng and its times moved so the first span starts at
// now (Unix nanoseconds, after 1970). Its error is from the slow path
// (see fits), which re-encodes.
func (t *template) patch(dst []byte, ids [][16]byte, rng *rand.Rand, now int64) ([]byte, [][16]byte, error) {
	dst = append(dst[:0], t.data...)
	for _, p := range t.traceIDs {
		// A zero high half would make a 64-bit ID, which Zipkin writes in
		// 16 digits rather than 32 and servers may look up as either.
		hi, lo := rng.Uint64(), rng.Uint64()
		for hi == 0 {
			hi = rng.Uint64()
		}
		t.putID(dst, p.hi, hi)
		t.putID(dst, p.lo, lo)
		ids = append(ids, traceID(hi, lo))
	}
	for _, offs := range t.spanIDs {
		id := rng.Uint64()
		for id == 0 {
			id = rng.Uint64()
		}
		t.putID(dst, offs, id)
	}
	delta := now/int64(t.wire.unit()) - t.base
	dst, fit := t.fits(dst, delta)
	if !fit {
		req, err := t.reencode(dst, delta)
		return req, ids, err
	}
	for i, off := range t.times {
		// Appending to dst[off:off] writes over dst's own bytes, and fits
		// made sure the new time is as long as the old.
		t.wire.appendTime(dst[off:off], t.timeVals[i]+delta)
	}
	return dst, ids, nil
}

// putID writes id at each of offs in dst over an ID of the same length.
func (t *template) putID(dst []byte, offs []int, id uint64) {
	for _, off := range offs {
		t.wire.appendID(dst[off:off], id)
	}
}

// fits reports whether every time moved by delta is written in as many
// bytes as before, so it can be overwritten in place. Binary times always
// are; a decimal one (Zipkin) is unless the move crosses a power of ten,
// and since the template's times all have one length and lengths grow
// with the value, checking the earliest and the latest is enough. For
// "now" it never crosses one: 10^16 µs is in 2286.
//
// It writes the two times past the end of dst to measure them, and
// returns dst with its length unchanged and its spare capacity, which a
// worker reuses from send to send, perhaps grown.
func (t *template) fits(dst []byte, delta int64) ([]byte, bool) {
	n := len(dst)
	dst = t.wire.appendTime(dst, t.base+delta)
	fit := len(dst)-n == t.timeLen
	dst = t.wire.appendTime(dst[:n], t.last+delta)
	fit = fit && len(dst)-n == t.timeLen
	return dst[:n], fit
}

// reencode moves every time in req by delta by decoding and encoding it:
// the slow way, for times that no longer fit their places.
func (t *template) reencode(req []byte, delta int64) ([]byte, error) {
	d, err := t.wire.decode(req)
	if err != nil {
		return nil, fmt.Errorf("re-encode %s request: %w", t.wire.name(), err)
	}
	st, err := d.stamps()
	if err != nil {
		return nil, fmt.Errorf("re-encode %s request: %w", t.wire.name(), err)
	}
	shift := delta * int64(t.wire.unit())
	for i := range st {
		st[i].start += shift
		st[i].end += shift
	}
	d.restamp(st)
	return d.encode()
}

// stamps decodes req, a request patched from t, and returns its spans'
// IDs and times.
func (t *template) stamps(req []byte) ([]stamp, error) {
	d, err := t.wire.decode(req)
	if err != nil {
		return nil, err
	}
	return d.stamps()
}

// check patches t once and verifies that the result decodes, that every
// trace and span ID is new and the structure (which spans share a trace,
// which span is whose parent) is kept, that every time moved by the same
// amount, that patch returned the request's trace IDs, and that putting
// the old IDs and times back gives the template's bytes: nothing else was
// touched.
func (t *template) check(rng *rand.Rand) error {
	const shift = int64(time.Hour)
	was, err := t.stamps(t.data)
	if err != nil {
		return fmt.Errorf("decode template: %w", err)
	}
	req, ids, err := t.patch(nil, nil, rng, t.base*int64(t.wire.unit())+shift)
	if err != nil {
		return err
	}
	d, err := t.wire.decode(req)
	if err != nil {
		return fmt.Errorf("decode patched request: %w", err)
	}
	now, err := d.stamps()
	if err != nil {
		return fmt.Errorf("decode patched request: %w", err)
	}
	if len(now) != len(was) {
		return errors.New("patched request has another shape")
	}
	traceMap := map[[16]byte][16]byte{}
	spanMap := map[uint64]uint64{}
	newSpans := map[uint64]bool{}
	var newTraces [][16]byte
	for i, w := range was {
		n := now[i]
		if prev, ok := traceMap[w.trace]; ok {
			if prev != n.trace {
				return fmt.Errorf("span %d: trace ID not shared within its trace", i)
			}
		} else {
			if n.trace == ([16]byte{}) || n.trace == w.trace || slices.Contains(newTraces, n.trace) {
				return fmt.Errorf("span %d: trace ID %x not fresh", i, n.trace)
			}
			traceMap[w.trace] = n.trace
			newTraces = append(newTraces, n.trace)
		}
		if n.span == 0 || n.span == w.span || newSpans[n.span] {
			return fmt.Errorf("span %d: span ID %016x not fresh", i, n.span)
		}
		spanMap[w.span] = n.span
		newSpans[n.span] = true
	}
	if !slices.Equal(ids, newTraces) {
		return fmt.Errorf("patch returned trace IDs %x, the request holds %x", ids, newTraces)
	}
	for i, w := range was {
		n := now[i]
		if (w.parent == 0) != (n.parent == 0) || (w.parent != 0 && spanMap[w.parent] != n.parent) {
			return fmt.Errorf("span %d: parent span ID %016x does not name its new parent", i, n.parent)
		}
		if n.start-w.start != shift || n.end-w.end != shift {
			return fmt.Errorf("span %d: times not shifted by %s", i, time.Duration(shift))
		}
	}
	d.restamp(was)
	back, err := d.encode()
	if err != nil {
		return err
	}
	if !bytes.Equal(back, t.data) {
		return errors.New("patching changed more than IDs and times")
	}
	return nil
}
