package sampling

import (
	"context"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RegisterGRPC adds jaeger.api_v2.SamplingManager, answered from p, to
// srv. The server (port 14250, shared with Jaeger's CollectorService) is
// someone else's to configure, start and stop.
func (p *Provider) RegisterGRPC(srv *grpc.Server) {
	api_v2.RegisterSamplingManagerServer(srv, grpcService{p: p})
}

type grpcService struct {
	p *Provider
}

var _ api_v2.SamplingManagerServer = grpcService{}

// GetSamplingStrategy answers like Jaeger, except that an empty service
// name is INVALID_ARGUMENT (the proto says it is required; Jaeger would
// answer with the default strategy).
func (s grpcService) GetSamplingStrategy(_ context.Context, req *api_v2.SamplingStrategyParameters) (*api_v2.SamplingStrategyResponse, error) {
	requests := s.p.metrics.requests
	if req.GetServiceName() == "" {
		requests.WithLabelValues(endpointGRPC, resultBadRequest).Inc()
		return nil, status.Error(codes.InvalidArgument, "serviceName is required")
	}
	resp, err := s.p.GetSamplingStrategy(req.GetServiceName())
	if err != nil {
		requests.WithLabelValues(endpointGRPC, resultError).Inc()
		return nil, status.Errorf(codes.Internal, "get sampling strategy for service %q: %v", req.GetServiceName(), err)
	}
	requests.WithLabelValues(endpointGRPC, resultOK).Inc()
	return resp, nil
}
