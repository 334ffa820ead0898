package zipkin

// Protocol names, passed to pipeline.Consume and used as the "protocol"
// label of ingest metrics.
const (
	ProtocolV2JSON   = "zipkin_v2_json"
	ProtocolV2Proto  = "zipkin_v2_proto"
	ProtocolV1JSON   = "zipkin_v1_json"
	ProtocolV1Thrift = "zipkin_v1_thrift"
)

// Routes served by Register.
const (
	PathV2 = "/api/v2/spans"
	PathV1 = "/api/v1/spans"
)

// Span attributes this receiver adds for Zipkin fields that the
// collector-contrib translator drops. Both are booleans, present only
// when true, so that a Zipkin query API can give the fields back.
const (
	// AttrDebug marks a span reported with "debug": true (the B3 debug
	// flag: the trace was forced through sampling).
	AttrDebug = "zipkin.debug"
	// AttrShared marks the server half of a span whose ID it shares with
	// the client that called it ("shared": true). The client half is a
	// separate span with the same trace and span ID.
	AttrShared = "zipkin.shared"
)

// Config is what the receiver needs.
type Config struct {
	// MaxRequestBytes bounds a request body, both as received and after
	// decompression.
	MaxRequestBytes int
	// TenantHeader names the header carrying the tenant ID; DefaultTenant
	// is used when it is absent.
	TenantHeader  string
	DefaultTenant string
}
