package otlp

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/functions/receiver"

	_ "google.golang.org/grpc/encoding/gzip" // clients may send gzip-compressed messages
)

// GRPCService implements OTLP's TraceService.
type GRPCService struct {
	ptraceotlp.UnimplementedGRPCServer
	cfg     Config
	tenants receiver.Tenants
	next    pipeline.Consumer
	logger  *slog.Logger
}

// NewGRPCService returns the service feeding next; register it on a
// server built with ServerOptions.
func NewGRPCService(cfg Config, next pipeline.Consumer, logger *slog.Logger) *GRPCService {
	return &GRPCService{cfg: cfg, tenants: receiver.Tenants{Header: cfg.TenantHeader, Default: cfg.DefaultTenant}, next: next, logger: logger}
}

// Register adds the service to srv.
func (s *GRPCService) Register(srv *grpc.Server) { ptraceotlp.RegisterGRPCServer(srv, s) }

// ServerOptions are the options a gRPC server carrying the service needs.
func (s *GRPCService) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(s.cfg.MaxRequestBytes)}
}

// Export receives one request. Retryable failures are UNAVAILABLE, or
// RESOURCE_EXHAUSTED with RetryInfo, as OTLP clients expect.
func (s *GRPCService) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	tenantID, terr := s.tenants.FromGRPC(ctx)
	if terr != nil {
		return ptraceotlp.ExportResponse{}, terr.GRPCStatus().Err()
	}
	res, err := s.next.Consume(ctx, ProtocolGRPC, tenantID, req.Traces())
	if err != nil {
		return ptraceotlp.ExportResponse{}, receiver.GRPCError(ctx, err, s.logger, ProtocolGRPC)
	}
	resp := ptraceotlp.NewExportResponse()
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.RejectMessage)
	}
	return resp, nil
}
