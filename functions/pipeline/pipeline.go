package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/storage/tracestore"
)

// Stage transforms spans on their way to storage. Sampling plugins are
// stages: they return the spans to keep.
type Stage interface {
	// Process returns the spans to keep; it may change td in place and
	// return it. An error fails the request with ErrUnavailable semantics.
	Process(ctx context.Context, tenant string, td ptrace.Traces) (ptrace.Traces, error)
}

// Consumer is the pipeline as receivers see it: every protocol's receiver
// hands each decoded request to Consume and maps the outcome to its
// protocol's status codes.
type Consumer interface {
	Consume(ctx context.Context, protocol, tenant string, td ptrace.Traces) (Result, error)
}

var _ Consumer = (*Pipeline)(nil)

// LimitError is a request over a hard limit (spans per request): it is
// refused whole, and retrying it unchanged cannot succeed.
type LimitError struct {
	What         string // e.g. "spans in the request"
	Value, Limit int
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("%s: %d, the limit is %d", e.What, e.Value, e.Limit)
}

// Result says what happened to the spans of one request.
type Result struct {
	Accepted   int // stored durably
	Rejected   int // invalid, see RejectMessage
	SampledOut int // dropped on purpose by a stage
	// RejectMessage describes the rejected spans; empty when none were.
	RejectMessage string
}

// ProtocolAttribute is the instrumentation scope attribute that records
// which protocol spans arrived over, for every protocol but OTLP (whose
// spans are stored exactly as sent): "zipkin_v2_json", "jaeger_grpc", …
const ProtocolAttribute = "tracelake.ingest.protocol"

// Pipeline validates, limits, samples and stores spans. It is safe for
// concurrent use.
type Pipeline struct {
	limits  Limits
	stages  []Stage
	batcher *Batcher
	metrics *pipelineMetrics
}

// New returns a pipeline that enforces limits, runs stages in order and
// stores through batcher. Metrics are registered with reg.
func New(batcher *Batcher, limits Limits, stages []Stage, reg prometheus.Registerer) (*Pipeline, error) {
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	return &Pipeline{limits: limits, stages: stages, batcher: batcher, metrics: newPipelineMetrics(reg)}, nil
}

// Consume takes the spans of one request received over protocol for
// tenant, and returns once the accepted spans are durably stored.
//
// Invalid spans are removed and reported in the Result, the rest are
// stored (partial success). An error means none of the request's spans
// were acknowledged: ErrOverloaded or ErrUnavailable (both retryable), or
// ctx's error.
func (p *Pipeline) Consume(ctx context.Context, protocol, tenant string, td ptrace.Traces) (Result, error) {
	var res Result
	received := td.SpanCount()
	p.metrics.received.WithLabelValues(protocol, tenant).Add(float64(received))
	if max := p.limits.MaxSpansPerRequest; max > 0 && received > max {
		p.metrics.rejected.WithLabelValues(protocol, tenant, "too_large").Add(float64(received))
		return Result{}, &LimitError{What: "spans in the request", Value: received, Limit: max}
	}
	res.Rejected, res.RejectMessage = removeInvalid(td)
	st := p.limits.apply(td)
	for what, n := range map[string]int{
		"attributes_dropped": st.attributesDropped, "values_truncated": st.valuesTruncated,
		"events_dropped": st.eventsDropped, "links_dropped": st.linksDropped,
	} {
		if n > 0 {
			p.metrics.limited.WithLabelValues(protocol, tenant, what).Add(float64(n))
		}
	}
	if !strings.HasPrefix(protocol, "otlp") {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				ss.Scope().Attributes().PutStr(ProtocolAttribute, protocol)
			}
		}
	}
	if res.Rejected > 0 {
		p.metrics.rejected.WithLabelValues(protocol, tenant, "invalid").Add(float64(res.Rejected))
	}
	for _, st := range p.stages {
		before := td.SpanCount()
		var err error
		if td, err = st.Process(ctx, tenant, td); err != nil {
			p.metrics.rejected.WithLabelValues(protocol, tenant, "stage_error").Add(float64(before))
			return Result{}, fmt.Errorf("%w: processing stage failed: %w", ErrUnavailable, err)
		}
		res.SampledOut += before - td.SpanCount()
	}
	if res.SampledOut > 0 {
		p.metrics.sampledOut.WithLabelValues(protocol, tenant).Add(float64(res.SampledOut))
	}
	n := td.SpanCount()
	if n == 0 {
		return res, nil
	}
	if err := p.batcher.Add(ctx, tenant, tracestore.NewBatch(td)); err != nil {
		reason := "unavailable"
		if errors.Is(err, ErrOverloaded) {
			reason = "overloaded"
		}
		p.metrics.rejected.WithLabelValues(protocol, tenant, reason).Add(float64(n))
		return Result{}, err
	}
	res.Accepted = n
	p.metrics.accepted.WithLabelValues(protocol, tenant).Add(float64(n))
	return res, nil
}

// removeInvalid drops spans that cannot be stored or found (no trace or
// span ID) and describes them.
func removeInvalid(td ptrace.Traces) (int, string) {
	rejected := 0
	first := ""
	rss := td.ResourceSpans()
	for ri := 0; ri < rss.Len(); ri++ {
		sss := rss.At(ri).ScopeSpans()
		for si := 0; si < sss.Len(); si++ {
			idx := 0
			sss.At(si).Spans().RemoveIf(func(s ptrace.Span) bool {
				defer func() { idx++ }()
				var why string
				switch {
				case s.TraceID().IsEmpty():
					why = "trace_id is empty or all zeros"
				case s.SpanID().IsEmpty():
					why = "span_id is empty or all zeros"
				default:
					return false
				}
				if first == "" {
					first = fmt.Sprintf("span %q (resource_spans[%d].scope_spans[%d].spans[%d]): %s", s.Name(), ri, si, idx, why)
				}
				rejected++
				return true
			})
		}
	}
	if rejected == 0 {
		return 0, ""
	}
	if rejected == 1 {
		return 1, "1 span rejected: " + first
	}
	return rejected, fmt.Sprintf("%d spans rejected; the first: %s", rejected, first)
}

type pipelineMetrics struct {
	received, accepted, sampledOut, rejected, limited *prometheus.CounterVec
}

func newPipelineMetrics(reg prometheus.Registerer) *pipelineMetrics {
	m := &pipelineMetrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_ingest_spans_received_total",
			Help: "Spans received, by protocol and tenant.",
		}, []string{"protocol", "tenant"}),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_ingest_spans_accepted_total",
			Help: "Spans durably stored, by protocol and tenant.",
		}, []string{"protocol", "tenant"}),
		sampledOut: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_ingest_spans_sampled_out_total",
			Help: "Spans dropped on purpose by sampling stages, by protocol and tenant.",
		}, []string{"protocol", "tenant"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_ingest_spans_rejected_total",
			Help: "Spans not stored, by protocol, tenant and reason (invalid, too_large, overloaded, unavailable, stage_error).",
		}, []string{"protocol", "tenant", "reason"}),
		limited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_ingest_limited_total",
			Help: "What span limits removed, by protocol, tenant and what (attributes_dropped, values_truncated, events_dropped, links_dropped).",
		}, []string{"protocol", "tenant", "what"}),
	}
	reg.MustRegister(m.received, m.accepted, m.sampledOut, m.rejected, m.limited)
	return m
}
