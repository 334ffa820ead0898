package loadgen

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"
	"time"

	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinv2"
	zipkinmodel "github.com/openzipkin/zipkin-go/model"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/tracegen"
)

var wires = []wire{otlpWire{}, zipkinWire{}, jaegerWire{}}

func decodeStamps(t *testing.T, w wire, req []byte) []stamp {
	t.Helper()
	d, err := w.decode(req)
	if err != nil {
		t.Fatalf("decode patched request: %v", err)
	}
	st, err := d.stamps()
	if err != nil {
		t.Fatalf("decode patched request: %v", err)
	}
	return st
}

func TestPatch(t *testing.T) {
	type test struct {
		wire   wire
		traces int
		built  time.Time
		// slow is whether the times no longer fit their places, so
		// patching re-encodes.
		slow bool
	}
	var tests []test
	for _, w := range wires {
		for _, traces := range []int{1, 50, 500} {
			tests = append(tests, test{wire: w, traces: traces, built: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)})
		}
		// In 1999 Unix microseconds had 15 digits; now they have 16.
		_, zipkin := w.(zipkinWire)
		tests = append(tests, test{wire: w, traces: 50, built: time.Date(1999, 1, 2, 3, 4, 5, 0, time.UTC), slow: zipkin})
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d traces/built %d", tt.wire.name(), tt.traces, tt.built.Year()), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tt.traces)))
			tpl, err := newTemplate(tt.wire, rng, tt.traces, tt.built)
			if err != nil {
				t.Fatal(err)
			}
			if got := tpl.spans(); got != tt.traces*spansPerTrace {
				t.Fatalf("template has %d spans, want %d", got, tt.traces*spansPerTrace)
			}
			unit := tt.wire.unit()
			if _, fit := tpl.fits(nil, time.Now().UnixNano()/int64(unit)-tpl.base); fit == tt.slow {
				t.Fatalf("patching now re-encodes: %v, want %v", !fit, tt.slow)
			}
			oldTraces := map[[16]byte]bool{}
			oldSpans := map[uint64]bool{}
			for _, s := range decodeStamps(t, tt.wire, tpl.data) {
				oldTraces[s.trace] = true
				oldSpans[s.span] = true
			}

			seenTraces := map[[16]byte]bool{}
			seenSpans := map[uint64]bool{}
			wrng := rand.New(rand.NewPCG(2, 3))
			var buf []byte
			var ids [][16]byte
			sends := 100
			if tt.slow || tt.traces > 50 {
				sends = 20
			}
			for send := range sends {
				now := time.Now()
				buf, ids, err = tpl.patch(buf, ids[:0], wrng, now.UnixNano())
				if err != nil {
					t.Fatalf("send %d: %v", send, err)
				}
				spans := decodeStamps(t, tt.wire, buf)
				if len(spans) != tpl.spans() {
					t.Fatalf("send %d: %d spans, want %d", send, len(spans), tpl.spans())
				}
				var order [][16]byte
				byTrace := map[[16]byte][]stamp{}
				for _, s := range spans {
					switch {
					case s.trace[0]|s.trace[1]|s.trace[2]|s.trace[3]|s.trace[4]|s.trace[5]|s.trace[6]|s.trace[7] == 0 || s.span == 0:
						t.Fatalf("send %d: empty ID or trace ID of 64 bits in span %x/%016x", send, s.trace, s.span)
					case oldTraces[s.trace] || oldSpans[s.span]:
						t.Fatalf("send %d: template ID survived in span %x/%016x", send, s.trace, s.span)
					case seenSpans[s.span]:
						t.Fatalf("send %d: span ID %016x sent before", send, s.span)
					}
					seenSpans[s.span] = true
					if len(byTrace[s.trace]) == 0 {
						order = append(order, s.trace)
					}
					byTrace[s.trace] = append(byTrace[s.trace], s)

					// Times are truncated to the wire's unit.
					start, end := time.Unix(0, s.start), time.Unix(0, s.end)
					if d := start.Sub(now); d <= -unit || d > time.Duration(tt.traces)*time.Microsecond {
						t.Fatalf("send %d: span starts %s after now, want within the request's %d µs", send, d, tt.traces)
					}
					if d := end.Sub(start); d != 123*time.Microsecond {
						t.Fatalf("send %d: span lasts %s, want 123µs", send, d)
					}
				}
				if !slices.Equal(ids, order) {
					t.Fatalf("send %d: patch returned trace IDs %x, the request holds %x", send, ids, order)
				}
				for tid, ss := range byTrace {
					if seenTraces[tid] {
						t.Fatalf("send %d: trace ID %x sent before", send, tid)
					}
					seenTraces[tid] = true
					if len(ss) != spansPerTrace {
						t.Fatalf("send %d: trace %x has %d spans, want %d", send, tid, len(ss), spansPerTrace)
					}
					root, child := ss[0], ss[1]
					if root.parent != 0 {
						t.Fatalf("send %d: trace %x: first span has parent %016x", send, tid, root.parent)
					}
					if child.parent != root.span {
						t.Fatalf("send %d: trace %x: child's parent %016x, want %016x", send, tid, child.parent, root.span)
					}
				}
				if _, ok := tt.wire.(zipkinWire); ok {
					checkZipkinText(t, buf)
				}
			}
		})
	}
}

var (
	hex32 = regexp.MustCompile(`^[0-9a-f]{32}$`)
	hex16 = regexp.MustCompile(`^[0-9a-f]{16}$`)
)

// checkZipkinText checks what zipkin-go's decoder lets pass: IDs in lower
// hex of full length, times as plain integers.
func checkZipkinText(t *testing.T, req []byte) {
	t.Helper()
	var spans []struct {
		TraceID   string      `json:"traceId"`
		ID        string      `json:"id"`
		ParentID  *string     `json:"parentId"`
		Timestamp json.Number `json:"timestamp"`
		Duration  json.Number `json:"duration"`
	}
	if err := json.Unmarshal(req, &spans); err != nil {
		t.Fatal(err)
	}
	for _, s := range spans {
		if !hex32.MatchString(s.TraceID) || !hex16.MatchString(s.ID) || (s.ParentID != nil && !hex16.MatchString(*s.ParentID)) {
			t.Fatalf("IDs not in lower hex of 32 and 16 digits: %+v", s)
		}
		if _, err := s.Timestamp.Int64(); err != nil || s.Duration != "123" {
			t.Fatalf("timestamp %q, duration %q", s.Timestamp, s.Duration)
		}
	}
}

// check must notice a layout that misses a field: it guards against an
// encoding the value search gets wrong.
func TestCheckCatchesMissedField(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	for _, w := range wires {
		for name, spoil := range map[string]func(*template){
			"time":          func(t *template) { t.times, t.timeVals = t.times[1:], t.timeVals[1:] },
			"parent ID":     func(t *template) { t.spanIDs[0] = t.spanIDs[0][:1] },
			"last parent":   func(t *template) { t.spanIDs[0] = t.spanIDs[0][:len(t.spanIDs[0])-1] },
			"trace ID high": func(t *template) { t.traceIDs[1].hi = t.traceIDs[1].hi[1:] },
			"trace ID low":  func(t *template) { t.traceIDs[2].lo = t.traceIDs[2].lo[:1] },
		} {
			t.Run(w.name()+"/"+name, func(t *testing.T) {
				td := tracegen.Telemetrygen(rng, 3, childSpans, time.Now())
				tpl, err := locate(w, td, 3)
				if err != nil {
					t.Fatal(err)
				}
				if err := tpl.check(rng); err != nil {
					t.Fatalf("unspoiled template: %v", err)
				}
				spoil(tpl)
				if err := tpl.check(rng); err == nil {
					t.Fatal("check passed a template missing a field")
				}
			})
		}
	}
}

// The Zipkin and Jaeger templates are telemetrygen's traces: translated
// back to OTLP the way a receiver does, they have its spans.
func TestTemplatesAreTelemetrygen(t *testing.T) {
	for _, w := range []wire{zipkinWire{}, jaegerWire{}} {
		t.Run(w.name(), func(t *testing.T) {
			// Whole microseconds, which both formats hold exactly.
			td := tracegen.Telemetrygen(rand.New(rand.NewPCG(8, 9)), 5, childSpans, time.Now().Truncate(time.Microsecond))
			tpl, err := locate(w, td, 5)
			if err != nil {
				t.Fatal(err)
			}
			var back ptrace.Traces
			switch w.(type) {
			case zipkinWire:
				var spans []*zipkinmodel.SpanModel
				if err := json.Unmarshal(tpl.data, &spans); err != nil {
					t.Fatal(err)
				}
				back, err = zipkinv2.ToTranslator{}.ToTraces(spans)
			case jaegerWire:
				batch, uerr := unmarshalThrift(tpl.data)
				if uerr != nil {
					t.Fatal(uerr)
				}
				back, err = jaegertranslator.ThriftToTraces(batch)
			}
			if err != nil {
				t.Fatal(err)
			}
			if back.ResourceSpans().Len() != 1 {
				t.Fatalf("%d resources", back.ResourceSpans().Len())
			}
			if svc, _ := back.ResourceSpans().At(0).Resource().Attributes().Get("service.name"); svc.Str() != "telemetrygen" {
				t.Errorf("service %q", svc.Str())
			}
			want := map[pcommon.SpanID]ptrace.Span{}
			for _, s := range spanList(td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()) {
				want[s.SpanID()] = s
			}
			got := allSpans(back)
			if len(got) != len(want) {
				t.Fatalf("%d spans, want %d", len(got), len(want))
			}
			for _, g := range got {
				s, ok := want[g.SpanID()]
				switch {
				case !ok:
					t.Fatalf("span %s is not telemetrygen's", g.SpanID())
				case g.TraceID() != s.TraceID() || g.ParentSpanID() != s.ParentSpanID():
					t.Errorf("span %s: trace %s parent %s, want %s %s", g.SpanID(), g.TraceID(), g.ParentSpanID(), s.TraceID(), s.ParentSpanID())
				case g.Name() != s.Name() || g.Kind() != s.Kind():
					t.Errorf("span %s: %q %s, want %q %s", g.SpanID(), g.Name(), g.Kind(), s.Name(), s.Kind())
				case g.StartTimestamp() != s.StartTimestamp() || g.EndTimestamp() != s.EndTimestamp():
					t.Errorf("span %s: %s+%s, want %s+%s", g.SpanID(), g.StartTimestamp(), g.EndTimestamp().AsTime().Sub(g.StartTimestamp().AsTime()),
						s.StartTimestamp(), s.EndTimestamp().AsTime().Sub(s.StartTimestamp().AsTime()))
				}
				// Attribute names differ between semantic convention
				// versions (Zipkin's remote endpoint becomes peer.service or
				// service.peer.name); the values must all be there.
				values := map[string]bool{}
				for _, v := range g.Attributes().All() {
					values[v.AsString()] = true
				}
				for k, v := range s.Attributes().All() {
					if !values[v.AsString()] {
						t.Errorf("span %s: attribute %s=%s lost; has %v", g.SpanID(), k, v.AsString(), g.Attributes().AsRaw())
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

func allSpans(td ptrace.Traces) []ptrace.Span {
	var out []ptrace.Span
	for i := range td.ResourceSpans().Len() {
		sss := td.ResourceSpans().At(i).ScopeSpans()
		for j := range sss.Len() {
			out = append(out, spanList(sss.At(j).Spans())...)
		}
	}
	return out
}

func BenchmarkPatch(b *testing.B) {
	for _, w := range wires {
		b.Run(w.name(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(6, 7))
			tpl, err := newTemplate(w, rng, DefaultSpansPerRequest/spansPerTrace, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			buf, ids, _ := tpl.patch(nil, nil, rng, time.Now().UnixNano())
			b.SetBytes(int64(len(tpl.data)))
			for b.Loop() {
				buf, ids, _ = tpl.patch(buf, ids[:0], rng, time.Now().UnixNano())
			}
		})
	}
}
