package jaeger

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	model "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"

	"github.com/tracelake/tracelake/functions/pipeline"
)

// startGRPC serves the collector service on an in-memory listener and
// returns a client built from jaeger-idl's generated stubs.
func startGRPC(t *testing.T, fc pipeline.Consumer) api_v2.CollectorServiceClient {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	svc := NewGRPCService(testConfig, fc, discardLogger())
	srv := grpc.NewServer(svc.ServerOptions()...)
	svc.Register(srv)
	go srv.Serve(lis)
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		srv.Stop()
	})
	return api_v2.NewCollectorServiceClient(conn)
}

func TestGRPCFixtureArrivesIntact(t *testing.T) {
	fc := &fakeConsumer{}
	client := startGRPC(t, fc)
	ctx := metadata.AppendToOutgoingContext(context.Background(), "x-scope-orgid", "acme")
	if _, err := client.PostSpans(ctx, &api_v2.PostSpansRequest{Batch: *protoBatch()}); err != nil {
		t.Fatal(err)
	}
	calls := fc.seen()
	if len(calls) != 1 {
		t.Fatalf("%d Consume calls, want 1", len(calls))
	}
	if calls[0].protocol != ProtocolGRPC || calls[0].tenant != "acme" {
		t.Errorf("protocol/tenant %s/%s", calls[0].protocol, calls[0].tenant)
	}
	checkFixture(t, calls[0].td)
}

func TestGRPC(t *testing.T) {
	batch := protoBatch()
	big := &model.Batch{Process: batch.Process}
	for len(big.Spans) < 2000 {
		big.Spans = append(big.Spans, batch.Spans...)
	}
	tests := []struct {
		name      string
		tenant    string
		batch     *model.Batch
		err       error
		result    pipeline.Result
		wantCode  codes.Code
		wantRetry bool
		wantMsg   []string
	}{
		{name: "ok", batch: batch, wantCode: codes.OK},
		{name: "empty batch", batch: &model.Batch{}, wantCode: codes.OK},
		{name: "rejected spans", batch: batch,
			result:   pipeline.Result{Accepted: 3, Rejected: 1, RejectMessage: `1 span rejected: span "x" (resource_spans[0].scope_spans[0].spans[3]): span_id is empty or all zeros`},
			wantCode: codes.InvalidArgument, wantMsg: []string{`span "x"`, "3 spans were stored"}},
		{name: "rejected and sampled out", batch: batch,
			result:   pipeline.Result{Accepted: 1, Rejected: 1, SampledOut: 2, RejectMessage: "1 span rejected"},
			wantCode: codes.InvalidArgument, wantMsg: []string{"1 stored, 2 sampled out"}},
		{name: "bad tenant", tenant: "a/b", batch: batch, wantCode: codes.InvalidArgument, wantMsg: []string{"x-scope-orgid"}},
		{name: "overloaded", batch: batch, err: pipeline.ErrOverloaded, wantCode: codes.ResourceExhausted, wantRetry: true},
		{name: "storage down", batch: batch, err: errors.Join(pipeline.ErrUnavailable, errors.New("s3 said 500")), wantCode: codes.Unavailable, wantRetry: true},
		{name: "too many spans", batch: batch, err: &pipeline.LimitError{What: "spans in the request", Value: 4, Limit: 3}, wantCode: codes.InvalidArgument, wantMsg: []string{"limit"}},
		{name: "message too large", batch: big, wantCode: codes.ResourceExhausted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeConsumer{err: tc.err, result: tc.result}
			client := startGRPC(t, fc)
			ctx := context.Background()
			if tc.tenant != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "x-scope-orgid", tc.tenant)
			}
			_, err := client.PostSpans(ctx, &api_v2.PostSpansRequest{Batch: *tc.batch})
			st := status.Convert(err)
			if st.Code() != tc.wantCode {
				t.Fatalf("code %s (%s), want %s", st.Code(), st.Message(), tc.wantCode)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(st.Message(), m) {
					t.Errorf("message %q does not mention %q", st.Message(), m)
				}
			}
			hasRetry := false
			for _, d := range st.Details() {
				if _, ok := d.(*errdetails.RetryInfo); ok {
					hasRetry = true
				}
			}
			if hasRetry != tc.wantRetry {
				t.Errorf("RetryInfo present = %v, want %v", hasRetry, tc.wantRetry)
			}
		})
	}
}
