package otlp

// Protocol names, used as the "protocol" label of ingest metrics.
const (
	ProtocolGRPC = "otlp_grpc"
	ProtocolHTTP = "otlp_http"
)

// Config is what both receivers need.
type Config struct {
	// MaxRequestBytes bounds a request body, both as received and after
	// decompression (gRPC: the decompressed message).
	MaxRequestBytes int
	// TenantHeader names the header (gRPC: metadata key) carrying the
	// tenant ID; DefaultTenant is used when it is absent.
	TenantHeader  string
	DefaultTenant string
}
