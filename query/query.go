// Package query holds the query area's domain types: what a trace search
// asks, what it answers, and the Querier contract that API handlers call.
//
// API handlers (Jaeger HTTP, api_v3, later Zipkin and Tempo) depend only on
// this package; they never touch storage. The engine that implements
// Querier lives in query/engine.
package query

import (
	"context"
	"errors"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// ErrNotFound is returned by Querier.Trace when no span of the trace is stored.
var ErrNotFound = errors.New("trace not found")

// ErrUnavailable wraps failures of the storage behind the engine that a
// client may retry (the object store is down, a timeout).
var ErrUnavailable = errors.New("storage unavailable")

// ErrBadCursor is wrapped by errors about a search cursor that is not one
// the Querier gave, or belongs to another search.
var ErrBadCursor = errors.New("invalid cursor")

// TimeRange is a half-open interval [Start, End) of wall-clock time. A zero
// Start or End leaves that side unbounded.
type TimeRange struct {
	Start, End time.Time
}

// TraceQuery describes a trace search. A trace matches when at least one of
// its spans satisfies every condition at once (Jaeger's semantics): it
// belongs to ServiceName, is named OperationName, has every attribute in
// Attributes, lasted within [DurationMin, DurationMax] and started within
// [StartMin, StartMax).
type TraceQuery struct {
	// ServiceName and OperationName are matched exactly; empty matches any.
	ServiceName   string
	OperationName string
	// Attributes must all be found on the span, its resource, or one of its
	// events. Values are compared by their string form, so the typed value
	// int 200 matches "200" and bool true matches "true".
	Attributes map[string]string
	// AttributeKeys must each be present, with any value, on the span, its
	// resource or one of its events, or be the name of one of the span's
	// events (Zipkin's annotationQuery matches a bare term against tag
	// keys and annotation values alike).
	AttributeKeys []string
	// StartMin and StartMax bound the matching span's start time. Both are
	// required; API layers fill defaults.
	StartMin, StartMax time.Time
	// DurationMin and DurationMax bound the matching span's duration; zero
	// leaves that side unbounded.
	DurationMin, DurationMax time.Duration
	// Limit is the most traces to return; it must be positive.
	Limit int
	// Cursor, when set, continues the search that returned it: the answer
	// is the next Limit traces in the search's order. It pins the time
	// window of the first page, so a "last hour" search pages through the
	// same hour however long the pages take.
	Cursor string
}

// Operation is one (span name, span kind) pair seen for a service.
type Operation struct {
	Name string
	// SpanKind is "server", "client", "producer", "consumer", "internal",
	// or "" for spans whose kind is unspecified (spanfile.KindName).
	SpanKind string
}

// MetricsStep is the time resolution of Dependencies and Metrics: spans
// are counted by the minute they started in, so time ranges are exact to
// the minute, and steps and windows are whole minutes.
const MetricsStep = time.Minute

// MaxMetricPoints is the most points a series of Metrics may have
// (Prometheus's limit): Lookback/Step must not exceed it.
const MaxMetricPoints = 11_000

// DependencyLink is the calls from one service to another: spans of
// Child whose parent span (or, for a Zipkin shared span, whose client
// half) belongs to Parent.
type DependencyLink struct {
	Parent, Child string
	CallCount     uint64
	// ErrorCount is how many of the calls failed (status Error).
	ErrorCount uint64
}

// Metric names a RED metric.
type Metric int

const (
	// MetricCalls is the calls per second.
	MetricCalls Metric = iota + 1
	// MetricErrors is the fraction of the calls that failed (status Error).
	MetricErrors
	// MetricLatencies is a quantile of the calls' durations, in
	// milliseconds.
	MetricLatencies
)

// MetricsQuery asks for RED series, as Jaeger's monitor API does: a point
// every Step from End-Lookback to End, each summarising the spans that
// started in the RatePer before it.
type MetricsQuery struct {
	Metric Metric
	// Services keeps spans of these services; at least one.
	Services []string
	// GroupByOperation makes a series per service and span name instead
	// of one per service.
	GroupByOperation bool
	// SpanKinds keeps spans of these kinds, named as spanfile.KindName
	// names them ("server", …, "" for unspecified); empty keeps every kind.
	SpanKinds []string
	// End and Lookback bound the points: the last is at the last whole
	// minute at or before End, none is before End-Lookback.
	End      time.Time
	Lookback time.Duration
	// Step is the time between points and RatePer the time before each
	// point that it summarises. Both are positive and rounded up to whole
	// MetricsSteps; RatePer longer than Step makes a moving average.
	Step, RatePer time.Duration
	// Quantile is the latency quantile MetricLatencies asks for, in (0, 1].
	Quantile float64
}

// MetricFamily is the answer to a MetricsQuery.
type MetricFamily struct {
	Metric Metric
	// Series are sorted by service, then operation. A service (or
	// operation) with no call in the time the points summarise has none.
	Series []MetricSeries
}

// MetricSeries is the points of one service, or one operation of it.
type MetricSeries struct {
	Service   string
	Operation string // set when grouped by operation
	Points    []MetricPoint
}

// MetricPoint is one value of a series, oldest first.
type MetricPoint struct {
	Time time.Time
	// Value is NaN where it is undefined: the error rate and latency of a
	// time without calls. The call rate is then 0.
	Value float64
}

// Querier answers trace queries for one tenant at a time.
//
// Results are deterministic: the same stored data gives the same answer.
type Querier interface {
	// Trace returns every stored span of the trace, from however many
	// objects hold them, with exact duplicates (client retries) removed.
	// within narrows the objects searched when the caller knows when the
	// trace happened; the zero TimeRange searches everything. It returns an
	// error wrapping ErrNotFound when no span is found.
	Trace(ctx context.Context, tenant string, id pcommon.TraceID, within TimeRange) (ptrace.Traces, error)
	// FindTraces returns the traces matching q, whole (every span stored
	// near the match, not only the matching spans), newest first by trace
	// start time, ties broken by trace ID, at most q.Limit of them.
	FindTraces(ctx context.Context, tenant string, q TraceQuery) ([]ptrace.Traces, error)
	// FindTracesPage is FindTraces that also returns the cursor of the
	// next page, "" when there is none. Pages are consecutive in one total
	// order — latest matching span first, then trace ID — and stable:
	// traces stored after the first page never shift later pages (they
	// may appear on a page only when they rank after its cursor).
	FindTracesPage(ctx context.Context, tenant string, q TraceQuery) (traces []ptrace.Traces, next string, err error)
	// Services returns the names of services with stored spans, sorted.
	Services(ctx context.Context, tenant string) ([]string, error)
	// Operations returns the operations of service, sorted by name then
	// kind. A non-empty spanKind keeps only operations of that kind.
	Operations(ctx context.Context, tenant, service, spanKind string) ([]Operation, error)
	// AttributeValues returns the distinct string forms of the values of
	// span attribute key, on spans of service (any service when empty),
	// over the same recent window as Services, sorted. It serves Zipkin's
	// remoteServices (keys service.peer.name and peer.service, where the
	// Zipkin translator puts the remote endpoint's service) and
	// autocompleteValues.
	AttributeValues(ctx context.Context, tenant, service, key string) ([]string, error)
	// Dependencies returns the calls between services made by spans that
	// started in r, sorted by parent then child. r is rounded to the whole
	// minutes (MetricsStep) that start in it; the zero TimeRange counts
	// everything.
	Dependencies(ctx context.Context, tenant string, r TimeRange) ([]DependencyLink, error)
	// Metrics returns RED series for the monitor API. A query outside
	// MetricsQuery's contract (no service, a Step or RatePer that is not
	// positive, a latency quantile outside (0, 1], more than
	// MaxMetricPoints points a series) is an error; API layers check
	// their parameters first.
	Metrics(ctx context.Context, tenant string, q MetricsQuery) (MetricFamily, error)
}
