package pipeline

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/tracegen"
)

func newPipeline(t *testing.T, rec *recorder, stages ...Stage) (*Pipeline, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg := config()
	cfg.MaxDelay = time.Millisecond
	bt, err := NewBatcher(cfg, rec, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bt.Close(context.Background()) })
	p, err := New(bt, DefaultLimits(), stages, reg)
	if err != nil {
		t.Fatal(err)
	}
	return p, reg
}

func TestConsumeRejectsInvalidSpansAndStoresTheRest(t *testing.T) {
	rec := &recorder{}
	p, reg := newPipeline(t, rec)
	td := tracegen.Telemetrygen(rand.New(rand.NewPCG(1, 1)), 3, 1, time.Now()) // 6 spans
	spans := td.ResourceSpans().At(0).ScopeSpans().At(0).Spans()
	spans.At(1).SetTraceID(pcommon.TraceID{})
	spans.At(4).SetSpanID(pcommon.SpanID{})

	res, err := p.Consume(context.Background(), "otlp_http", "acme", td)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != 4 || res.Rejected != 2 {
		t.Fatalf("result %+v, want 4 accepted and 2 rejected", res)
	}
	for _, want := range []string{"2 spans rejected", "okey-dokey-0", "spans[1]", "trace_id"} {
		if !strings.Contains(res.RejectMessage, want) {
			t.Errorf("reject message %q does not mention %q", res.RejectMessage, want)
		}
	}
	if got := testutil.ToFloat64(p.metrics.rejected.WithLabelValues("otlp_http", "acme", "invalid")); got != 2 {
		t.Errorf("rejected metric = %v", got)
	}
	if got := testutil.ToFloat64(p.metrics.accepted.WithLabelValues("otlp_http", "acme")); got != 4 {
		t.Errorf("accepted metric = %v", got)
	}
	_ = reg
}

func TestConsumeEmptyAndAllInvalidWriteNothing(t *testing.T) {
	rec := &recorder{}
	p, _ := newPipeline(t, rec)
	if res, err := p.Consume(context.Background(), "otlp_grpc", "acme", ptrace.NewTraces()); err != nil || res != (Result{}) {
		t.Fatalf("empty request: %+v, %v", res, err)
	}
	td := ptrace.NewTraces()
	td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty().SetName("no ids")
	res, err := p.Consume(context.Background(), "otlp_grpc", "acme", td)
	if err != nil || res.Rejected != 1 || res.Accepted != 0 {
		t.Fatalf("all-invalid request: %+v, %v", res, err)
	}
	if len(rec.writes) != 0 {
		t.Fatalf("%d writes for requests with nothing to store", len(rec.writes))
	}
}

type dropHalf struct{}

func (dropHalf) Process(_ context.Context, _ string, td ptrace.Traces) (ptrace.Traces, error) {
	i := 0
	td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().RemoveIf(func(ptrace.Span) bool { i++; return i%2 == 0 })
	return td, nil
}

type failing struct{}

func (failing) Process(context.Context, string, ptrace.Traces) (ptrace.Traces, error) {
	return ptrace.Traces{}, errors.New("plugin trapped")
}

func TestStagesSampleAndFail(t *testing.T) {
	rec := &recorder{}
	p, _ := newPipeline(t, rec, dropHalf{})
	res, err := p.Consume(context.Background(), "otlp_http", "acme", tracegen.Telemetrygen(rand.New(rand.NewPCG(2, 2)), 2, 1, time.Now()))
	if err != nil || res.Accepted != 2 || res.SampledOut != 2 {
		t.Fatalf("sampling stage: %+v, %v", res, err)
	}
	p2, _ := newPipeline(t, &recorder{}, failing{})
	if _, err := p2.Consume(context.Background(), "otlp_http", "acme", tracegen.Telemetrygen(rand.New(rand.NewPCG(3, 3)), 1, 1, time.Now())); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("failing stage = %v, want ErrUnavailable", err)
	}
}

func TestConsumeStorageFailureAcknowledgesNothing(t *testing.T) {
	rec := &recorder{fail: func() error { return errors.New("503 from S3") }}
	p, _ := newPipeline(t, rec)
	res, err := p.Consume(context.Background(), "otlp_http", "acme", tracegen.Telemetrygen(rand.New(rand.NewPCG(4, 4)), 1, 1, time.Now()))
	if !errors.Is(err, ErrUnavailable) || res.Accepted != 0 {
		t.Fatalf("Consume on failing storage = %+v, %v", res, err)
	}
}
