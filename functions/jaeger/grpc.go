package jaeger

import (
	"context"
	"log/slog"

	model "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/functions/receiver"

	_ "google.golang.org/grpc/encoding/gzip" // clients may send gzip-compressed messages
)

// GRPCService implements Jaeger's api_v2 CollectorService.
type GRPCService struct {
	cfg     Config
	tenants receiver.Tenants
	next    pipeline.Consumer
	logger  *slog.Logger
}

var _ api_v2.CollectorServiceServer = (*GRPCService)(nil)

// NewGRPCService returns the service feeding next; register it on a
// server built with ServerOptions.
func NewGRPCService(cfg Config, next pipeline.Consumer, logger *slog.Logger) *GRPCService {
	return &GRPCService{cfg: cfg, tenants: receiver.Tenants{Header: cfg.TenantHeader, Default: cfg.DefaultTenant}, next: next, logger: logger}
}

// Register adds the service to srv. The server is not ours: the same
// :14250 server carries Jaeger's SamplingManager too.
func (s *GRPCService) Register(srv *grpc.Server) { api_v2.RegisterCollectorServiceServer(srv, s) }

// ServerOptions are the options a gRPC server carrying the service needs.
func (s *GRPCService) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(s.cfg.MaxRequestBytes)}
}

// PostSpans receives one batch. Retryable failures are UNAVAILABLE, or
// RESOURCE_EXHAUSTED with RetryInfo. Rejected spans fail the call with
// INVALID_ARGUMENT after the others are stored: PostSpansResponse has no
// way to report a partial success.
func (s *GRPCService) PostSpans(ctx context.Context, req *api_v2.PostSpansRequest) (*api_v2.PostSpansResponse, error) {
	tenantID, terr := s.tenants.FromGRPC(ctx)
	if terr != nil {
		return nil, terr.GRPCStatus().Err()
	}
	td, err := jaegertranslator.ProtoToTraces([]*model.Batch{&req.Batch})
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "batch cannot be translated to OTLP: %v", err)
	}
	res, err := s.next.Consume(ctx, ProtocolGRPC, tenantID, td)
	if err != nil {
		return nil, receiver.GRPCError(ctx, err, s.logger, ProtocolGRPC)
	}
	if res.Rejected > 0 {
		return nil, rejected(res).GRPCStatus().Err()
	}
	return &api_v2.PostSpansResponse{}, nil
}
