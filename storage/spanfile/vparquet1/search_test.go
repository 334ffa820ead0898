package vparquet1

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/spanfile"
	"github.com/tracelake/tracelake/storage/tracegen"
)

// refMatch is the reference semantics of spanfile.Filter, written
// directly over pdata without any of the file machinery.
func refMatch(f spanfile.Filter, res pcommon.Resource, scope pcommon.InstrumentationScope, s ptrace.Span) bool {
	svc := ""
	if v, ok := res.Attributes().Get("service.name"); ok {
		svc = v.AsString()
	}
	start, dur := int64(s.StartTimestamp()), int64(s.EndTimestamp())-int64(s.StartTimestamp())
	switch {
	case f.Service != "" && svc != f.Service,
		f.Name != "" && s.Name() != f.Name,
		f.StartMin != 0 && start < f.StartMin,
		f.StartMax != 0 && start >= f.StartMax,
		f.DurationMin != 0 && dur < f.DurationMin,
		f.DurationMax != 0 && dur > f.DurationMax:
		return false
	}
	has := func(m pcommon.Map, a spanfile.Attribute) bool {
		found := false
		for k, v := range m.All() {
			if k == a.Key && v.AsString() == a.Value {
				found = true
			}
		}
		return found
	}
	for _, a := range f.Attributes {
		ok := has(s.Attributes(), a) || has(res.Attributes(), a)
		for _, ev := range s.Events().All() {
			ok = ok || has(ev.Attributes(), a)
		}
		switch a.Key {
		case "error":
			ok = ok || (a.Value == "true" && s.Status().Code() == ptrace.StatusCodeError)
		case "span.kind":
			ok = ok || (a.Value != "" && a.Value == spanfile.KindName(s.Kind()))
		case "otel.scope.name":
			ok = ok || (a.Value != "" && a.Value == scope.Name())
		}
		if !ok {
			return false
		}
	}
	hasKey := func(m pcommon.Map, k string) bool { _, ok := m.Get(k); return ok }
	for _, k := range f.Keys {
		ok := hasKey(s.Attributes(), k) || hasKey(res.Attributes(), k)
		for _, ev := range s.Events().All() {
			ok = ok || hasKey(ev.Attributes(), k) || ev.Name() == k
		}
		switch k {
		case "error":
			ok = ok || s.Status().Code() == ptrace.StatusCodeError
		case "span.kind":
			ok = ok || s.Kind() != ptrace.SpanKindUnspecified
		case "otel.scope.name":
			ok = ok || scope.Name() != ""
		}
		if !ok {
			return false
		}
	}
	return true
}

func refSearch(td ptrace.Traces, f spanfile.Filter) []string {
	var out []string
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				if refMatch(f, rs.Resource(), ss.Scope(), s) {
					out = append(out, fmt.Sprintf("%s@%d", s.TraceID(), s.StartTimestamp()))
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// randomFilter picks conditions from values present in td, so that
// searches match something as often as not.
func randomFilter(rng *rand.Rand, td ptrace.Traces) spanfile.Filter {
	var spans []ptrace.Span
	var resources []pcommon.Resource
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				spans = append(spans, s)
				resources = append(resources, rs.Resource())
			}
		}
	}
	i := rng.IntN(len(spans))
	s, res := spans[i], resources[i]
	var f spanfile.Filter
	if rng.IntN(2) == 0 {
		if v, ok := res.Attributes().Get("service.name"); ok {
			f.Service = v.AsString()
		}
	}
	if rng.IntN(3) == 0 {
		f.Name = s.Name()
	}
	if rng.IntN(3) == 0 {
		f.StartMin = int64(s.StartTimestamp()) - rng.Int64N(1e12)
		f.StartMax = int64(s.StartTimestamp()) + rng.Int64N(1e12)
	}
	if rng.IntN(3) == 0 {
		f.DurationMin = rng.Int64N(2e9)
	}
	if rng.IntN(4) == 0 {
		f.DurationMax = rng.Int64N(4e9)
	}
	pick := func(m pcommon.Map) {
		for k, v := range m.All() {
			if rng.IntN(2) == 0 {
				f.Attributes = append(f.Attributes, spanfile.Attribute{Key: k, Value: v.AsString()})
				return
			}
		}
	}
	pickKey := func(m pcommon.Map) {
		for k := range m.All() {
			if rng.IntN(2) == 0 {
				f.Keys = append(f.Keys, k)
				return
			}
		}
	}
	switch rng.IntN(4) {
	case 0:
		pickKey(s.Attributes())
	case 1:
		if s.Events().Len() > 0 {
			f.Keys = append(f.Keys, s.Events().At(0).Name()) // an annotation value
		}
	case 2:
		f.Keys = append(f.Keys, []string{"error", "span.kind", "otel.scope.name", "absent.key"}[rng.IntN(4)])
	}
	switch rng.IntN(6) {
	case 0:
		pick(s.Attributes())
	case 1:
		pick(res.Attributes())
	case 2:
		if s.Events().Len() > 0 {
			pick(s.Events().At(0).Attributes())
		}
	case 3:
		f.Attributes = append(f.Attributes, spanfile.Attribute{Key: "error", Value: "true"})
	case 4:
		f.Attributes = append(f.Attributes, spanfile.Attribute{Key: "span.kind", Value: spanfile.KindName(s.Kind())})
	}
	return f
}

func TestSearchMatchesReference(t *testing.T) {
	for seed := uint64(1); seed <= 15; seed++ {
		rng := rand.New(rand.NewPCG(seed, 99))
		td := tracegen.Random(rng, 3, 2, 40)
		cfg := DefaultWriterConfig()
		cfg.RowsPerRowGroup = 1 + int64(rng.IntN(64))
		f := encodeOpen(t, cfg, NewBatch(td))
		for q := 0; q < 30; q++ {
			flt := randomFilter(rng, td)
			var got []string
			err := f.Search(context.Background(), flt, func(m spanfile.Match) bool {
				got = append(got, fmt.Sprintf("%s@%d", pcommon.TraceID(m.TraceID), m.Start))
				return true
			})
			if err != nil {
				t.Fatal(err)
			}
			slices.Sort(got)
			if want := refSearch(td, flt); !slices.Equal(got, want) {
				t.Fatalf("seed %d filter %+v:\n got %d matches %v\nwant %d matches %v", seed, flt, len(got), got, len(want), want)
			}
		}
	}
}

func TestSearchStopsWhenAsked(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	f := encodeOpen(t, DefaultWriterConfig(), NewBatch(tracegen.Random(rng, 2, 2, 50)))
	calls := 0
	if err := f.Search(context.Background(), spanfile.Filter{}, func(spanfile.Match) bool { calls++; return calls < 3 }); err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Fatalf("fn called %d times after asking to stop at 3", calls)
	}
}

func TestOperations(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	td := tracegen.Random(rng, 3, 2, 30)
	want := map[spanfile.Operation]bool{}
	for _, rs := range td.ResourceSpans().All() {
		svc := ""
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			svc = v.Str()
		}
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				want[spanfile.Operation{Service: svc, Name: s.Name(), Kind: s.Kind()}] = true
			}
		}
	}
	f := encodeOpen(t, DefaultWriterConfig(), NewBatch(td))
	ops, err := f.Operations(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != len(want) {
		t.Fatalf("got %d operations, want %d", len(ops), len(want))
	}
	for _, op := range ops {
		if !want[op] {
			t.Errorf("unexpected operation %+v", op)
		}
	}
}

func TestAttributeValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 21))
	td := tracegen.Random(rng, 3, 2, 40)
	f := encodeOpen(t, DefaultWriterConfig(), NewBatch(td))
	nonEmpty := 0
	defer func() {
		if nonEmpty == 0 {
			t.Error("no key had values: the test checked nothing")
		}
	}()
	for _, key := range []string{"k0.1", "k0.7", "k0.42", "absent"} {
		for _, service := range []string{"", "svc-1-ü"} {
			want := map[string]bool{}
			for _, rs := range td.ResourceSpans().All() {
				svc := ""
				if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
					svc = v.Str()
				}
				if service != "" && svc != service {
					continue
				}
				for _, ss := range rs.ScopeSpans().All() {
					for _, s := range ss.Spans().All() {
						for k, v := range s.Attributes().All() {
							if k == key {
								want[v.AsString()] = true
							}
						}
					}
				}
			}
			if len(want) > 0 {
				nonEmpty++
			}
			got, err := f.AttributeValues(context.Background(), service, key)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("AttributeValues(%q, %q) = %q, want %v", service, key, got, want)
			}
			for _, v := range got {
				if !want[v] {
					t.Fatalf("AttributeValues(%q, %q) has unexpected %q", service, key, v)
				}
			}
		}
	}
}
