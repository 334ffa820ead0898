package otlp

import (
	"context"
	"errors"
	"log/slog"
	"strings"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/storage/tenant"

	_ "google.golang.org/grpc/encoding/gzip" // clients may send gzip-compressed messages
)

// GRPCService implements OTLP's TraceService.
type GRPCService struct {
	ptraceotlp.UnimplementedGRPCServer
	cfg    Config
	next   Consumer
	logger *slog.Logger
}

// NewGRPCService returns the service feeding next; register it on a
// server built with ServerOptions.
func NewGRPCService(cfg Config, next Consumer, logger *slog.Logger) *GRPCService {
	return &GRPCService{cfg: cfg, next: next, logger: logger}
}

// Register adds the service to srv.
func (s *GRPCService) Register(srv *grpc.Server) { ptraceotlp.RegisterGRPCServer(srv, s) }

// ServerOptions are the options a gRPC server carrying the service needs.
func (s *GRPCService) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(s.cfg.MaxRequestBytes)}
}

// Export receives one request.
func (s *GRPCService) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	tenantID := s.cfg.DefaultTenant
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(strings.ToLower(s.cfg.TenantHeader)); len(v) > 0 && v[0] != "" {
			tenantID = v[0]
		}
	}
	if err := tenant.Validate(tenantID); err != nil {
		return ptraceotlp.ExportResponse{}, status.Errorf(codes.InvalidArgument, "metadata %s: %v", strings.ToLower(s.cfg.TenantHeader), err)
	}
	res, err := s.next.Consume(ctx, ProtocolGRPC, tenantID, req.Traces())
	if err != nil {
		return ptraceotlp.ExportResponse{}, s.grpcError(ctx, err)
	}
	resp := ptraceotlp.NewExportResponse()
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.RejectMessage)
	}
	return resp, nil
}

// grpcError maps pipeline errors to the codes OTLP clients retry:
// UNAVAILABLE, and RESOURCE_EXHAUSTED only with RetryInfo.
func (s *GRPCService) grpcError(ctx context.Context, err error) error {
	switch {
	case errors.Is(err, pipeline.ErrOverloaded):
		st, derr := status.New(codes.ResourceExhausted, err.Error()).WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfterOverload)})
		if derr != nil {
			return status.Error(codes.Unavailable, err.Error())
		}
		return st.Err()
	case errors.Is(err, pipeline.ErrUnavailable):
		s.logger.Warn("OTLP/gRPC export failed", "err", err)
		st, derr := status.New(codes.Unavailable, err.Error()).WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(retryAfterUnavailable)})
		if derr != nil {
			return status.Error(codes.Unavailable, err.Error())
		}
		return st.Err()
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil:
		return status.Error(codes.DeadlineExceeded, err.Error())
	case errors.Is(err, context.Canceled) && ctx.Err() != nil:
		return status.Error(codes.Canceled, err.Error())
	}
	s.logger.Error("OTLP/gRPC export failed", "err", err)
	return status.Error(codes.Internal, "internal error")
}
