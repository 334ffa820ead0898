package loadgen

import (
	"math/rand/v2"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/tracelake/tracelake/storage/tracegen"
)

func decode(t *testing.T, req []byte) ptrace.SpanSlice {
	t.Helper()
	r := ptraceotlp.NewExportRequest()
	if err := r.UnmarshalProto(req); err != nil {
		t.Fatalf("decode patched request: %v", err)
	}
	td := r.Traces()
	if td.ResourceSpans().Len() != 1 || td.ResourceSpans().At(0).ScopeSpans().Len() != 1 {
		t.Fatalf("patched request has %d resources", td.ResourceSpans().Len())
	}
	return td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
}

func TestPatch(t *testing.T) {
	for _, traces := range []int{1, 50, 500} {
		t.Run("", func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(traces)))
			built := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
			tpl, err := newTemplate(rng, traces, built)
			if err != nil {
				t.Fatal(err)
			}
			if got := tpl.spans(); got != traces*spansPerTrace {
				t.Fatalf("template has %d spans, want %d", got, traces*spansPerTrace)
			}
			old := map[pcommon.TraceID]bool{}
			oldSpans := map[pcommon.SpanID]bool{}
			for _, s := range spanList(decode(t, tpl.data)) {
				old[s.TraceID()] = true
				oldSpans[s.SpanID()] = true
			}

			seenTraces := map[pcommon.TraceID]bool{}
			seenSpans := map[pcommon.SpanID]bool{}
			wrng := rand.New(rand.NewPCG(2, 3))
			var buf []byte
			for send := range 200 {
				now := time.Now()
				buf = tpl.patch(buf, wrng, now.UnixNano())
				spans := spanList(decode(t, buf))
				if len(spans) != tpl.spans() {
					t.Fatalf("send %d: %d spans, want %d", send, len(spans), tpl.spans())
				}
				byTrace := map[pcommon.TraceID][]ptrace.Span{}
				for _, s := range spans {
					switch {
					case s.TraceID().IsEmpty() || s.SpanID().IsEmpty():
						t.Fatalf("send %d: empty ID in span %s/%s", send, s.TraceID(), s.SpanID())
					case old[s.TraceID()] || oldSpans[s.SpanID()]:
						t.Fatalf("send %d: template ID survived in span %s/%s", send, s.TraceID(), s.SpanID())
					case seenSpans[s.SpanID()]:
						t.Fatalf("send %d: span ID %s sent before", send, s.SpanID())
					}
					seenSpans[s.SpanID()] = true
					byTrace[s.TraceID()] = append(byTrace[s.TraceID()], s)

					start, end := s.StartTimestamp().AsTime(), s.EndTimestamp().AsTime()
					if d := start.Sub(now); d < 0 || d > time.Duration(traces)*time.Microsecond {
						t.Fatalf("send %d: span starts %s after now, want within the request's %d µs", send, d, traces)
					}
					if d := end.Sub(start); d != 123*time.Microsecond {
						t.Fatalf("send %d: span lasts %s, want 123µs", send, d)
					}
				}
				if len(byTrace) != traces {
					t.Fatalf("send %d: %d traces, want %d", send, len(byTrace), traces)
				}
				for tid, ss := range byTrace {
					if seenTraces[tid] {
						t.Fatalf("send %d: trace ID %s sent before", send, tid)
					}
					seenTraces[tid] = true
					if len(ss) != spansPerTrace {
						t.Fatalf("send %d: trace %s has %d spans, want %d", send, tid, len(ss), spansPerTrace)
					}
					root, child := ss[0], ss[1]
					if root.Name() != "lets-go" || !root.ParentSpanID().IsEmpty() {
						t.Fatalf("send %d: trace %s: first span %q has parent %s", send, tid, root.Name(), root.ParentSpanID())
					}
					if child.ParentSpanID() != root.SpanID() {
						t.Fatalf("send %d: trace %s: child's parent %s, want %s", send, tid, child.ParentSpanID(), root.SpanID())
					}
				}
				for j := range tpl.traces {
					if id := pcommon.TraceID(tpl.traceID(buf, j)); len(byTrace[id]) == 0 {
						t.Fatalf("send %d: traceID(%d) = %s is not in the request", send, j, id)
					}
				}
			}
		})
	}
}

func spanList(s ptrace.SpanSlice) []ptrace.Span {
	out := make([]ptrace.Span, s.Len())
	for i := range out {
		out[i] = s.At(i)
	}
	return out
}

// check must notice a layout that misses a field: it guards against an
// encoding the value search gets wrong.
func TestCheckCatchesMissedField(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	for name, spoil := range map[string]func(*template){
		"time":      func(t *template) { t.times, t.timeVals = t.times[1:], t.timeVals[1:] },
		"parent ID": func(t *template) { t.spanIDs[0] = t.spanIDs[0][:1] },
		"trace ID":  func(t *template) { t.traceIDs[1] = t.traceIDs[1][1:] },
	} {
		t.Run(name, func(t *testing.T) {
			td := tracegen.Telemetrygen(rng, 3, childSpans, time.Now())
			tpl, err := locate(td, 3)
			if err != nil {
				t.Fatal(err)
			}
			if err := tpl.check(td, rng); err != nil {
				t.Fatalf("unspoiled template: %v", err)
			}
			spoil(tpl)
			if err := tpl.check(td, rng); err == nil {
				t.Fatal("check passed a template missing a field")
			}
		})
	}
}

func BenchmarkPatch(b *testing.B) {
	rng := rand.New(rand.NewPCG(6, 7))
	tpl, err := newTemplate(rng, DefaultSpansPerRequest/spansPerTrace, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	buf := tpl.patch(nil, rng, 0)
	b.SetBytes(int64(len(tpl.data)))
	for b.Loop() {
		buf = tpl.patch(buf, rng, time.Now().UnixNano())
	}
}
