package vparquet1

// The Parquet schema, version 1. FORMAT.md describes every column; change
// neither without a new format version package (old files must stay
// readable forever).

// FormatName and FormatVersion are written to every file's key-value
// metadata under the keys MetaFormat and MetaVersion.
const (
	FormatName    = "vparquet1"
	FormatVersion = "1"
)

// Key-value metadata keys written to every file footer.
const (
	MetaFormat   = "tracelake.format"
	MetaVersion  = "tracelake.format.version"
	MetaTenant   = "tracelake.tenant"
	MetaSpans    = "tracelake.spans"
	MetaStartMin = "tracelake.start_min_unix_nano"
	MetaEndMax   = "tracelake.end_max_unix_nano"
)

// span is one row: one span, with its resource and scope denormalised
// into dictionary-encoded blobs (a file holds few distinct resources, so
// a blob costs a few bits per row).
type span struct {
	TraceID       [16]byte `parquet:"trace_id"`
	SpanID        [8]byte  `parquet:"span_id"`
	ParentSpanID  [8]byte  `parquet:"parent_span_id"` // all zero: a root span
	TraceState    string   `parquet:"trace_state,dict"`
	Flags         uint32   `parquet:"flags,dict"`
	Name          string   `parquet:"name,dict"`
	Kind          int32    `parquet:"kind,dict"`
	StartUnixNano int64    `parquet:"start_unix_nano,delta,timestamp(nanosecond)"`
	DurationNano  int64    `parquet:"duration_nano,split"`
	StatusCode    int32    `parquet:"status_code,dict"`
	StatusMessage string   `parquet:"status_message,dict"`

	// ServiceName repeats the resource's service.name attribute (or "") so
	// searches by service read one small column instead of the blobs.
	ServiceName string `parquet:"service_name,dict"`
	// Resource is kv-encoded: schema URL, dropped attribute count, attributes.
	Resource []byte `parquet:"resource,dict"`
	// Scope is kv-encoded: schema URL, name, version, dropped count, attributes.
	Scope []byte `parquet:"scope,dict"`

	Attrs                  []attr  `parquet:"attrs"`
	DroppedAttributesCount uint32  `parquet:"dropped_attributes_count,dict"`
	Events                 []event `parquet:"events"`
	DroppedEventsCount     uint32  `parquet:"dropped_events_count,dict"`
	Links                  []link  `parquet:"links"`
	DroppedLinksCount      uint32  `parquet:"dropped_links_count,dict"`
}

// attr is one span attribute. Type says which value column holds the
// value; the others are null. Scalars have columns of their own so
// searches can push predicates down to them.
type attr struct {
	Key    string  `parquet:"key,dict"`
	Type   int32   `parquet:"type,dict"` // a kv codec tag
	Str    string  `parquet:"str,dict,optional"`
	Int    int64   `parquet:"int,optional,dict"` // also bool (0 or 1)
	Double float64 `parquet:"double,optional"`   //
	Bytes  []byte  `parquet:"bytes,optional"`    // raw bytes, or a kv-encoded array or map
}

type event struct {
	TimeUnixNano           int64  `parquet:"time_unix_nano,delta,timestamp(nanosecond)"`
	Name                   string `parquet:"name,dict"`
	Attrs                  []byte `parquet:"attrs,optional"` // kv-encoded map
	DroppedAttributesCount uint32 `parquet:"dropped_attributes_count,dict"`
}

type link struct {
	TraceID                [16]byte `parquet:"trace_id"`
	SpanID                 [8]byte  `parquet:"span_id"`
	TraceState             string   `parquet:"trace_state,dict"`
	Flags                  uint32   `parquet:"flags,dict"`
	Attrs                  []byte   `parquet:"attrs,optional"` // kv-encoded map
	DroppedAttributesCount uint32   `parquet:"dropped_attributes_count,dict"`
}
