package querytest

import (
	"context"
	"fmt"
	"sync"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query"
)

// Fake is a query.Querier that answers from canned data and records what
// it was asked. Set the canned fields before the first call; read the
// recorded ones once the calls have returned (the handlers under test
// return before their answer does). The zero value answers nothing: no
// trace, no service, no operation.
type Fake struct {
	// Traces answers Trace; any other ID is not found.
	Traces map[pcommon.TraceID]ptrace.Traces
	// Found answers FindTraces, whatever the query.
	Found []ptrace.Traces
	// FoundBy, when set, answers FindTraces instead of Found.
	FoundBy func(q query.TraceQuery) []ptrace.Traces
	// ServiceNames answers Services.
	ServiceNames []string
	// Ops answers Operations, less those of another kind when a kind is
	// asked for.
	Ops []query.Operation
	// Values answers AttributeValues by key, whatever the service.
	Values map[string][]string
	// Links answers Dependencies, whatever the time range.
	Links []query.DependencyLink
	// Family answers Metrics, whatever the query.
	Family query.MetricFamily
	// Err, when set, is what every method returns.
	Err error

	mu sync.Mutex
	// Calls names the methods called, in order.
	Calls []string
	// Tenants holds the tenant of each call, in the order of Calls.
	Tenants []string
	// IDs and Within hold the arguments of each Trace call.
	IDs    []pcommon.TraceID
	Within []query.TimeRange
	// NextCursor is what FindTracesPage returns as the next cursor.
	NextCursor string
	// Queries holds the query of each FindTraces call.
	Queries []query.TraceQuery
	// OperationsCalls holds the arguments of each Operations call.
	OperationsCalls []OperationsCall
	// ValuesCalls holds the arguments of each AttributeValues call.
	ValuesCalls []ValuesCall
	// Ranges holds the time range of each Dependencies call.
	Ranges []query.TimeRange
	// MetricsQueries holds the query of each Metrics call.
	MetricsQueries []query.MetricsQuery
}

// OperationsCall is the arguments of one Operations call.
type OperationsCall struct {
	Service, SpanKind string
}

// ValuesCall is the arguments of one AttributeValues call.
type ValuesCall struct {
	Service, Key string
}

var _ query.Querier = (*Fake)(nil)

// Tenant returns the tenant of the last call, "" before any.
func (f *Fake) Tenant() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.Tenants) == 0 {
		return ""
	}
	return f.Tenants[len(f.Tenants)-1]
}

// record notes a call and, under the same lock, its arguments.
func (f *Fake) record(call, tenant string, args func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.Calls = append(f.Calls, call)
	f.Tenants = append(f.Tenants, tenant)
	args()
}

// Trace returns Traces[id], or an error wrapping query.ErrNotFound.
func (f *Fake) Trace(_ context.Context, tenant string, id pcommon.TraceID, within query.TimeRange) (ptrace.Traces, error) {
	f.record("Trace", tenant, func() {
		f.IDs = append(f.IDs, id)
		f.Within = append(f.Within, within)
	})
	if f.Err != nil {
		return ptrace.Traces{}, f.Err
	}
	if td, ok := f.Traces[id]; ok {
		return td, nil
	}
	return ptrace.Traces{}, fmt.Errorf("trace %s: %w", id, query.ErrNotFound)
}

// FindTracesPage is FindTraces with NextCursor as the next page's cursor.
func (f *Fake) FindTracesPage(ctx context.Context, tenant string, q query.TraceQuery) ([]ptrace.Traces, string, error) {
	found, err := f.FindTraces(ctx, tenant, q)
	return found, f.NextCursor, err
}

// FindTraces returns FoundBy(q) when FoundBy is set, Found otherwise.
func (f *Fake) FindTraces(_ context.Context, tenant string, q query.TraceQuery) ([]ptrace.Traces, error) {
	f.record("FindTraces", tenant, func() { f.Queries = append(f.Queries, q) })
	if f.Err != nil {
		return nil, f.Err
	}
	if f.FoundBy != nil {
		return f.FoundBy(q), nil
	}
	return f.Found, nil
}

// Services returns ServiceNames as they are, unsorted if they are.
func (f *Fake) Services(_ context.Context, tenant string) ([]string, error) {
	f.record("Services", tenant, func() {})
	if f.Err != nil {
		return nil, f.Err
	}
	return f.ServiceNames, nil
}

// Operations returns Ops of spanKind, or all of them when spanKind is "",
// whatever the service.
func (f *Fake) Operations(_ context.Context, tenant, service, spanKind string) ([]query.Operation, error) {
	f.record("Operations", tenant, func() {
		f.OperationsCalls = append(f.OperationsCalls, OperationsCall{Service: service, SpanKind: spanKind})
	})
	if f.Err != nil {
		return nil, f.Err
	}
	var out []query.Operation
	for _, op := range f.Ops {
		if spanKind == "" || op.SpanKind == spanKind {
			out = append(out, op)
		}
	}
	return out, nil
}

// AttributeValues returns Values[key], whatever the service.
func (f *Fake) AttributeValues(_ context.Context, tenant, service, key string) ([]string, error) {
	f.record("AttributeValues", tenant, func() {
		f.ValuesCalls = append(f.ValuesCalls, ValuesCall{Service: service, Key: key})
	})
	if f.Err != nil {
		return nil, f.Err
	}
	return f.Values[key], nil
}

// Dependencies returns Links.
func (f *Fake) Dependencies(_ context.Context, tenant string, r query.TimeRange) ([]query.DependencyLink, error) {
	f.record("Dependencies", tenant, func() { f.Ranges = append(f.Ranges, r) })
	if f.Err != nil {
		return nil, f.Err
	}
	return f.Links, nil
}

// Metrics returns Family.
func (f *Fake) Metrics(_ context.Context, tenant string, q query.MetricsQuery) (query.MetricFamily, error) {
	f.record("Metrics", tenant, func() { f.MetricsQueries = append(f.MetricsQueries, q) })
	if f.Err != nil {
		return query.MetricFamily{}, f.Err
	}
	return f.Family, nil
}
