// Package spanfile is the format-neutral face of a file of spans: what a
// reader can ask of any stored span file, whatever its format version.
//
// Each format version lives in its own subpackage (vparquet1, …) and old
// versions stay readable forever. Callers open files through the version
// dispatch in storage/tracestore and use only the types here; they never
// see a format's row types.
package spanfile

import (
	"context"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Filter selects spans. A span matches when it satisfies every set field.
type Filter struct {
	// Service and Name match the span's service.name and name exactly.
	Service, Name string
	// Attributes must each be found, by key and string form of the value,
	// on the span, its resource, or one of its events. A few keys derived
	// from span fields are matched too, as Jaeger's translation shows them
	// as tags: "error" ("true" for status Error), "span.kind",
	// "otel.status_code", "otel.status_description", "otel.scope.name",
	// "otel.scope.version".
	Attributes []Attribute
	// Keys must each be present, with any value, where Attributes are
	// looked for (the derived keys count when the span sets the field they
	// come from), or be the name of one of the span's events: Zipkin's
	// annotationQuery matches a bare term against tag keys and annotation
	// values alike.
	Keys []string
	// StartMin and StartMax bound the span start, [StartMin, StartMax), in
	// Unix nanoseconds; zero leaves a side unbounded.
	StartMin, StartMax int64
	// DurationMin and DurationMax bound the duration in nanoseconds,
	// inclusive; zero leaves a side unbounded.
	DurationMin, DurationMax int64
}

// Attribute is one key and the string form of a value.
type Attribute struct {
	Key, Value string
}

// Match is a span that matched a Filter.
type Match struct {
	TraceID pcommon.TraceID
	Start   int64 // span start, Unix ns
}

// Operation is one (service, span name, kind) triple present in a file.
type Operation struct {
	Service string
	Name    string
	Kind    ptrace.SpanKind
}

// Info describes a file's contents.
type Info struct {
	Format   string // format name, e.g. "vparquet1"
	Tenant   string
	Spans    int
	StartMin int64 // earliest span start, Unix ns
	EndMax   int64 // latest span end, Unix ns
}

// TraceIndex says which traces a file may hold. It is small (about 1.25
// bytes per span) so that a query service can keep one per file in memory
// and open only the files that may hold a trace.
type TraceIndex interface {
	// MayContain is false only when the file certainly holds no span of id.
	MayContain(id pcommon.TraceID) bool
	// MemSize is the memory the index holds, in bytes.
	MemSize() int
}

// File is an open span file. Methods may be called concurrently.
type File interface {
	Info() Info
	// TraceIndex reads the file's trace index into memory.
	TraceIndex(ctx context.Context) (TraceIndex, error)
	// FindTrace appends every span of the trace to td and returns how many
	// it appended.
	FindTrace(ctx context.Context, id pcommon.TraceID, td ptrace.Traces) (int, error)
	// Search calls fn for every span matching f, in file order, until fn
	// returns false.
	Search(ctx context.Context, f Filter, fn func(Match) bool) error
	// Operations returns the distinct operations in the file, in no
	// particular order.
	Operations(ctx context.Context) ([]Operation, error)
	// AttributeValues returns the distinct string forms of span attribute
	// key's values, on spans of service (any when empty), in no particular
	// order.
	AttributeValues(ctx context.Context, service, key string) ([]string, error)
	// Scan calls fn with every span's SpanInfo, in file order (sorted by
	// trace ID, so a trace's spans are consecutive), reading only the
	// columns SpanInfo needs. fn must not keep the pointer; an error from
	// fn stops the scan and is returned.
	Scan(ctx context.Context, fn func(*SpanInfo) error) error
}

// KindName maps OTLP's span kind to the lower-case name Jaeger's APIs and
// its OTLP translation use ("server", "client", "producer", "consumer",
// "internal"), or "" for an unspecified kind.
func KindName(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindServer:
		return "server"
	case ptrace.SpanKindClient:
		return "client"
	case ptrace.SpanKindProducer:
		return "producer"
	case ptrace.SpanKindConsumer:
		return "consumer"
	case ptrace.SpanKindInternal:
		return "internal"
	}
	return ""
}

// SpanInfo is the part of a span that trace indexes and aggregates
// (dependency links, RED metrics) are built from: identity, service,
// name, kind, timing and status, but no attributes.
type SpanInfo struct {
	TraceID      pcommon.TraceID
	SpanID       pcommon.SpanID
	ParentSpanID pcommon.SpanID // zero for a root span
	Service      string         // the resource's service.name, "" when absent
	Name         string
	Kind         ptrace.SpanKind
	Start        int64 // Unix ns
	Duration     int64 // ns; as sent, so it may be negative
	StatusCode   ptrace.StatusCode
}
