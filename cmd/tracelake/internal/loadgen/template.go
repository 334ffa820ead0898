package loadgen

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

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
// works because the template's IDs are random: 8 or 16 random bytes turn
// up nowhere else. A span ID and every parent span ID naming it are the
// same value, so they are found, and overwritten, together; likewise a
// trace ID in every span of its trace.
type template struct {
	data   []byte
	traces int
	// traceIDs holds, per trace, the offsets of its 16-byte ID.
	traceIDs [][]int
	// spanIDs holds, per span, the offsets of its 8-byte ID and of the
	// parent span IDs equal to it.
	spanIDs [][]int
	// times holds the offsets of every start and end time (fixed64, Unix
	// nanoseconds) and timeVals their values in data.
	times    []int
	timeVals []uint64
	// base is the earliest start time in data; a send shifts every time by
	// now-base.
	base int64
}

func (t *template) spans() int { return t.traces * spansPerTrace }

// newTemplate encodes a telemetrygen-shaped request of traces traces
// starting at now. It checks that patching it changes exactly the IDs and
// times and nothing else, so a future encoding that defeats the search
// fails here rather than sending garbage.
func newTemplate(rng *rand.Rand, traces int, now time.Time) (*template, error) {
	var err error
	for range 3 { // an ID colliding with other bytes is astronomically rare; retry anyway
		td := tracegen.Telemetrygen(rng, traces, childSpans, now)
		var t *template
		if t, err = locate(td, traces); err == nil {
			if err = t.check(td, rand.New(rand.NewPCG(rng.Uint64(), rng.Uint64()))); err == nil {
				return t, nil
			}
		}
	}
	return nil, fmt.Errorf("build request template: %w", err)
}

func locate(td ptrace.Traces, traces int) (*template, error) {
	data, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		return nil, err
	}
	t := &template{data: data, traces: traces, base: -1}
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	if spans.Len() != t.spans() {
		return nil, fmt.Errorf("generator made %d spans, want %d", spans.Len(), t.spans())
	}
	seenTrace := map[pcommon.TraceID]bool{}
	seenTime := map[uint64]bool{}
	for i := range spans.Len() {
		s := spans.At(i)
		if tid := s.TraceID(); !seenTrace[tid] {
			seenTrace[tid] = true
			offs := findAll(data, tid[:])
			if len(offs) != spansPerTrace {
				return nil, fmt.Errorf("trace ID %s found %d times, want %d", tid, len(offs), spansPerTrace)
			}
			t.traceIDs = append(t.traceIDs, offs)
		}
		sid := s.SpanID()
		want := 1
		if s.ParentSpanID().IsEmpty() {
			want += childSpans
		}
		offs := findAll(data, sid[:])
		if len(offs) != want {
			return nil, fmt.Errorf("span ID %s found %d times, want %d", sid, len(offs), want)
		}
		t.spanIDs = append(t.spanIDs, offs)
		for _, ts := range []uint64{uint64(s.StartTimestamp()), uint64(s.EndTimestamp())} {
			if t.base < 0 || int64(ts) < t.base {
				t.base = int64(ts)
			}
			if seenTime[ts] {
				continue
			}
			seenTime[ts] = true
			var v [8]byte
			binary.LittleEndian.PutUint64(v[:], ts)
			for _, off := range findAll(data, v[:]) {
				t.times = append(t.times, off)
				t.timeVals = append(t.timeVals, ts)
			}
		}
	}
	if len(t.traceIDs) != traces {
		return nil, fmt.Errorf("found %d trace IDs, want %d", len(t.traceIDs), traces)
	}
	if len(t.times) != 2*t.spans() {
		return nil, fmt.Errorf("found %d timestamps, want %d", len(t.times), 2*t.spans())
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

// patch writes a fresh request into dst (grown as needed) and returns it:
// the template with new random IDs from rng and its times moved so the
// first span starts at now (Unix nanoseconds).
func (t *template) patch(dst []byte, rng *rand.Rand, now int64) []byte {
	dst = append(dst[:0], t.data...)
	for _, offs := range t.traceIDs {
		hi, lo := rng.Uint64(), rng.Uint64()
		for hi == 0 && lo == 0 {
			hi, lo = rng.Uint64(), rng.Uint64()
		}
		for _, off := range offs {
			binary.LittleEndian.PutUint64(dst[off:], hi)
			binary.LittleEndian.PutUint64(dst[off+8:], lo)
		}
	}
	for _, offs := range t.spanIDs {
		id := rng.Uint64()
		for id == 0 {
			id = rng.Uint64()
		}
		for _, off := range offs {
			binary.LittleEndian.PutUint64(dst[off:], id)
		}
	}
	delta := uint64(now - t.base)
	for i, off := range t.times {
		binary.LittleEndian.PutUint64(dst[off:], t.timeVals[i]+delta)
	}
	return dst
}

// traceID returns the ID of trace i in req, a request patched from t.
func (t *template) traceID(req []byte, i int) [16]byte {
	return [16]byte(req[t.traceIDs[i][0]:])
}

// check patches t once and verifies that the result decodes, that every
// trace and span ID is new and the structure (which spans share a trace,
// which span is whose parent) is kept, that every time moved by the same
// amount, and that putting the old IDs and times back gives the template's
// bytes: nothing else was touched.
func (t *template) check(orig ptrace.Traces, rng *rand.Rand) error {
	const shift = int64(time.Hour)
	req := ptraceotlp.NewExportRequest()
	if err := req.UnmarshalProto(t.patch(nil, rng, t.base+shift)); err != nil {
		return fmt.Errorf("decode patched request: %w", err)
	}
	got := req.Traces()
	if got.SpanCount() != orig.SpanCount() || got.ResourceSpans().Len() != 1 || got.ResourceSpans().At(0).ScopeSpans().Len() != 1 {
		return errors.New("patched request has another shape")
	}
	was := orig.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	now := got.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	traceMap := map[pcommon.TraceID]pcommon.TraceID{}
	spanMap := map[pcommon.SpanID]pcommon.SpanID{}
	newTraces := map[pcommon.TraceID]bool{}
	newSpans := map[pcommon.SpanID]bool{}
	for i := range was.Len() {
		w, n := was.At(i), now.At(i)
		if prev, ok := traceMap[w.TraceID()]; ok {
			if prev != n.TraceID() {
				return fmt.Errorf("span %d: trace ID not shared within its trace", i)
			}
		} else {
			if n.TraceID().IsEmpty() || n.TraceID() == w.TraceID() || newTraces[n.TraceID()] {
				return fmt.Errorf("span %d: trace ID %s not fresh", i, n.TraceID())
			}
			traceMap[w.TraceID()] = n.TraceID()
			newTraces[n.TraceID()] = true
		}
		if n.SpanID().IsEmpty() || n.SpanID() == w.SpanID() || newSpans[n.SpanID()] {
			return fmt.Errorf("span %d: span ID %s not fresh", i, n.SpanID())
		}
		spanMap[w.SpanID()] = n.SpanID()
		newSpans[n.SpanID()] = true
	}
	for i := range was.Len() {
		w, n := was.At(i), now.At(i)
		if w.ParentSpanID().IsEmpty() != n.ParentSpanID().IsEmpty() ||
			(!w.ParentSpanID().IsEmpty() && spanMap[w.ParentSpanID()] != n.ParentSpanID()) {
			return fmt.Errorf("span %d: parent span ID %s does not name its new parent", i, n.ParentSpanID())
		}
		if int64(n.StartTimestamp())-int64(w.StartTimestamp()) != shift || int64(n.EndTimestamp())-int64(w.EndTimestamp()) != shift {
			return fmt.Errorf("span %d: times not shifted by %s", i, time.Duration(shift))
		}
		n.SetTraceID(w.TraceID())
		n.SetSpanID(w.SpanID())
		n.SetParentSpanID(w.ParentSpanID())
		n.SetStartTimestamp(w.StartTimestamp())
		n.SetEndTimestamp(w.EndTimestamp())
	}
	back, err := req.MarshalProto()
	if err != nil {
		return err
	}
	if !bytes.Equal(back, t.data) {
		return errors.New("patching changed more than IDs and times")
	}
	return nil
}
