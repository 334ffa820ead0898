package sampling

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/gogo/protobuf/proto"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
)

// startGRPC serves p on an in-memory gRPC server and returns the client
// Jaeger SDKs and agents use.
func startGRPC(t *testing.T, p *Provider) api_v2.SamplingManagerClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	p.RegisterGRPC(srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
		<-done
	})
	return api_v2.NewSamplingManagerClient(conn)
}

func TestGRPC(t *testing.T) {
	p, _ := newTestProvider(t, string(readTestdata(t, "operations.json")))
	client := startGRPC(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	for _, service := range []string{"foo", "bar", "baz", "qux", "unknown", "ünïcödé"} {
		got, err := client.GetSamplingStrategy(ctx, &api_v2.SamplingStrategyParameters{ServiceName: service})
		if err != nil {
			t.Fatalf("%s: %v", service, err)
		}
		want, _ := p.GetSamplingStrategy(service)
		if !proto.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", service, got, want)
		}
	}

	_, err := client.GetSamplingStrategy(ctx, &api_v2.SamplingStrategyParameters{})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("empty service name: %v, want InvalidArgument", err)
	}
	if got := testutil.ToFloat64(p.metrics.requests.WithLabelValues(endpointGRPC, resultOK)); got != 6 {
		t.Errorf("%v good gRPC requests counted, want 6", got)
	}
	if got := testutil.ToFloat64(p.metrics.requests.WithLabelValues(endpointGRPC, resultBadRequest)); got != 1 {
		t.Errorf("%v bad gRPC requests counted, want 1", got)
	}
}

// A PROBABILISTIC strategy of probability 0 is all zero values in proto3:
// it must still arrive as a probabilistic strategy, not as nothing.
func TestGRPCZeroValues(t *testing.T) {
	p, _ := newTestProvider(t, `{"default_strategy": {"type": "probabilistic", "param": 0}}`)
	got, err := startGRPC(t, p).GetSamplingStrategy(context.Background(), &api_v2.SamplingStrategyParameters{ServiceName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got.StrategyType != api_v2.SamplingStrategyType_PROBABILISTIC || got.ProbabilisticSampling == nil || got.ProbabilisticSampling.SamplingRate != 0 {
		t.Fatalf("got %v", got)
	}
}
