package otlp

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/functions/pipeline"
)

// Consumer is the pipeline as the receivers see it.
type Consumer interface {
	Consume(ctx context.Context, protocol, tenant string, td ptrace.Traces) (pipeline.Result, error)
}

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

// How long clients are told to wait before retrying.
const (
	retryAfterOverload    = 1 * time.Second
	retryAfterUnavailable = 5 * time.Second
)
