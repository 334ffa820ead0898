package querytest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query"
)

func TestFakeAnswers(t *testing.T) {
	ctx := context.Background()
	id := TraceID("4bf92f3577b34da6a3ce929d0e0e4736")
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetTraceID(id)
	f := &Fake{
		Traces:       map[pcommon.TraceID]ptrace.Traces{id: td},
		Found:        []ptrace.Traces{td},
		ServiceNames: []string{"b", "a"},
		Ops:          []query.Operation{{Name: "x", SpanKind: "server"}, {Name: "y", SpanKind: "client"}},
		Values:       map[string][]string{"k": {"v"}},
		Links:        []query.DependencyLink{{Parent: "a", Child: "b", CallCount: 2}},
		Family:       query.MetricFamily{Metric: query.MetricCalls, Series: []query.MetricSeries{{Service: "a"}}},
	}
	if got, err := f.Trace(ctx, "t1", id, query.TimeRange{}); err != nil || got.SpanCount() != 1 {
		t.Errorf("Trace = %d spans, %v", got.SpanCount(), err)
	}
	other := TraceID("0000000000000000000000000000abcd")
	if _, err := f.Trace(ctx, "t1", other, query.TimeRange{}); !errors.Is(err, query.ErrNotFound) {
		t.Errorf("Trace of an unknown ID: %v, want ErrNotFound", err)
	}
	if got, err := f.FindTraces(ctx, "t2", query.TraceQuery{Limit: 3}); err != nil || len(got) != 1 {
		t.Errorf("FindTraces = %d traces, %v", len(got), err)
	}
	if got, err := f.Services(ctx, "t2"); err != nil || !slices.Equal(got, []string{"b", "a"}) {
		t.Errorf("Services = %v, %v: want them as given", got, err)
	}
	if got, err := f.Operations(ctx, "t3", "svc", "client"); err != nil || len(got) != 1 || got[0].Name != "y" {
		t.Errorf("Operations of kind client = %v, %v", got, err)
	}
	if got, _ := f.Operations(ctx, "t3", "svc", ""); len(got) != 2 {
		t.Errorf("Operations of every kind = %v", got)
	}
	if got, err := f.AttributeValues(ctx, "t4", "svc", "k"); err != nil || !slices.Equal(got, []string{"v"}) {
		t.Errorf("AttributeValues = %v, %v", got, err)
	}

	r := query.TimeRange{Start: time.Unix(1, 0), End: time.Unix(2, 0)}
	if got, err := f.Dependencies(ctx, "t5", r); err != nil || !slices.Equal(got, f.Links) {
		t.Errorf("Dependencies = %v, %v", got, err)
	}
	mq := query.MetricsQuery{Metric: query.MetricCalls, Services: []string{"a"}}
	if got, err := f.Metrics(ctx, "t5", mq); err != nil || got.Metric != query.MetricCalls || len(got.Series) != 1 {
		t.Errorf("Metrics = %+v, %v", got, err)
	}

	if want := []string{"Trace", "Trace", "FindTraces", "Services", "Operations", "Operations", "AttributeValues", "Dependencies", "Metrics"}; !slices.Equal(f.Calls, want) {
		t.Errorf("Calls %v, want %v", f.Calls, want)
	}
	if want := []string{"t1", "t1", "t2", "t2", "t3", "t3", "t4", "t5", "t5"}; !slices.Equal(f.Tenants, want) || f.Tenant() != "t5" {
		t.Errorf("Tenants %v, last %q", f.Tenants, f.Tenant())
	}
	if !slices.Equal(f.IDs, []pcommon.TraceID{id, other}) || len(f.Within) != 2 {
		t.Errorf("Trace arguments %v %v", f.IDs, f.Within)
	}
	if len(f.Queries) != 1 || f.Queries[0].Limit != 3 {
		t.Errorf("Queries %+v", f.Queries)
	}
	if want := []OperationsCall{{Service: "svc", SpanKind: "client"}, {Service: "svc"}}; !slices.Equal(f.OperationsCalls, want) {
		t.Errorf("OperationsCalls %+v", f.OperationsCalls)
	}
	if want := []ValuesCall{{Service: "svc", Key: "k"}}; !slices.Equal(f.ValuesCalls, want) {
		t.Errorf("ValuesCalls %+v", f.ValuesCalls)
	}
	if !slices.Equal(f.Ranges, []query.TimeRange{r}) || len(f.MetricsQueries) != 1 || f.MetricsQueries[0].Services[0] != "a" {
		t.Errorf("Ranges %+v, MetricsQueries %+v", f.Ranges, f.MetricsQueries)
	}
}

func TestFakeErrAndFoundBy(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("boom")
	f := &Fake{Err: boom, ServiceNames: []string{"a"}}
	if _, err := f.Trace(ctx, "", pcommon.TraceID{}, query.TimeRange{}); err != boom {
		t.Errorf("Trace: %v", err)
	}
	if _, err := f.FindTraces(ctx, "", query.TraceQuery{}); err != boom {
		t.Errorf("FindTraces: %v", err)
	}
	if _, err := f.Services(ctx, ""); err != boom {
		t.Errorf("Services: %v", err)
	}
	if _, err := f.Operations(ctx, "", "", ""); err != boom {
		t.Errorf("Operations: %v", err)
	}
	if _, err := f.AttributeValues(ctx, "", "", ""); err != boom {
		t.Errorf("AttributeValues: %v", err)
	}
	if _, err := f.Dependencies(ctx, "", query.TimeRange{}); err != boom {
		t.Errorf("Dependencies: %v", err)
	}
	if _, err := f.Metrics(ctx, "", query.MetricsQuery{}); err != boom {
		t.Errorf("Metrics: %v", err)
	}
	if len(f.Calls) != 7 {
		t.Errorf("calls that failed not recorded: %v", f.Calls)
	}

	g := &Fake{FoundBy: func(q query.TraceQuery) []ptrace.Traces { return make([]ptrace.Traces, q.Limit) }}
	if got, _ := g.FindTraces(ctx, "", query.TraceQuery{Limit: 2}); len(got) != 2 {
		t.Errorf("FoundBy not used: %d traces", len(got))
	}
	if (&Fake{}).Tenant() != "" {
		t.Error("tenant before any call")
	}
}

func TestIDs(t *testing.T) {
	if got := TraceID("0000000000000000463ac35c9f6413ad").String(); got != "0000000000000000463ac35c9f6413ad" {
		t.Errorf("TraceID %s", got)
	}
	if got := SpanID("00f067aa0ba902b7").String(); got != "00f067aa0ba902b7" {
		t.Errorf("SpanID %s", got)
	}
	for _, bad := range []string{"abcd", "zz", strings.Repeat("a", 34)} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("TraceID(%q) did not panic", bad)
				}
			}()
			TraceID(bad)
		}()
	}
}

// failures records what Golden reports instead of failing the test.
type failures struct {
	testing.TB
	msgs []string
}

func (f *failures) Helper() {}
func (f *failures) Errorf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}
func (f *failures) Fatalf(format string, args ...any) {
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func TestGolden(t *testing.T) {
	if *update {
		t.Skip("-update rewrites golden files instead of comparing them")
	}
	path := filepath.Join(t.TempDir(), "x.golden.json")
	if err := os.WriteFile(path, []byte("{\n  \"a\": [\n    1\n  ]\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &failures{TB: t}
	GoldenJSON(f, path, []byte(`{"a":[1]}`))
	if len(f.msgs) != 0 {
		t.Errorf("equal answer reported: %v", f.msgs)
	}
	GoldenJSON(f, path, []byte(`{"a":[2]}`))
	if len(f.msgs) != 1 || !strings.Contains(f.msgs[0], "line 3:\n  want:     1\n  got:      2") {
		t.Errorf("different answer reported as %q", f.msgs)
	}
	f.msgs = nil
	GoldenJSON(f, path, []byte(`not JSON`))
	if len(f.msgs) == 0 || !strings.Contains(f.msgs[0], "answer is not JSON") {
		t.Errorf("non-JSON answer reported as %q", f.msgs)
	}
	f.msgs = nil
	Golden(f, filepath.Join(t.TempDir(), "missing"), []byte("x"))
	if len(f.msgs) == 0 || !strings.Contains(f.msgs[0], "-update") {
		t.Errorf("missing golden file reported as %q", f.msgs)
	}
}
