package receiver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tracelake/tracelake/functions/pipeline"
)

func TestConsumeErrorMapping(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		err        error
		status     int
		code       codes.Code
		retryAfter bool
	}{
		{pipeline.ErrOverloaded, http.StatusTooManyRequests, codes.ResourceExhausted, true},
		{fmt.Errorf("%w: disk full", pipeline.ErrUnavailable), http.StatusServiceUnavailable, codes.Unavailable, true},
		{&pipeline.LimitError{What: "spans in the request", Value: 9, Limit: 5}, http.StatusRequestEntityTooLarge, codes.InvalidArgument, false},
		{errors.New("bug"), http.StatusInternalServerError, codes.Internal, false},
	} {
		e := ConsumeError(context.Background(), tc.err, logger, "test")
		if e.Status != tc.status || e.Code != tc.code || (e.RetryAfter > 0) != tc.retryAfter {
			t.Errorf("%v → %+v", tc.err, e)
		}
		st := status.Convert(GRPCError(context.Background(), tc.err, logger, "test"))
		hasInfo := false
		for _, d := range st.Details() {
			_, hasInfo = d.(*errdetails.RetryInfo)
		}
		if st.Code() != tc.code || hasInfo != tc.retryAfter {
			t.Errorf("%v → gRPC %s (RetryInfo %v)", tc.err, st.Code(), hasInfo)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if e := ConsumeError(ctx, context.Canceled, logger, "test"); e != nil {
		t.Errorf("a gone client got an answer: %+v", e)
	}
}
