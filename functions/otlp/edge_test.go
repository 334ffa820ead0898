package otlp

import (
	"bytes"
	"context"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	"google.golang.org/grpc"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/storage/tracegen"
)

// capturing is a consumer that keeps what it received.
type capturing struct{ got ptrace.Traces }

func (c *capturing) Consume(_ context.Context, _, _ string, td ptrace.Traces) (pipeline.Result, error) {
	c.got = ptrace.NewTraces()
	td.CopyTo(c.got)
	return pipeline.Result{Accepted: td.SpanCount()}, nil
}

// TestJSONEdgeCases: OTLP/JSON as the specification allows clients to
// write it: upper-case hex IDs, 64-bit integers as strings or numbers,
// enums as integers, unknown fields anywhere.
func TestJSONEdgeCases(t *testing.T) {
	body := `{
	  "resourceSpans": [{
	    "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "edge"}}], "futureField": 1},
	    "scopeSpans": [{
	      "scope": {"name": "lib"},
	      "spans": [{
	        "traceId": "5B8EFFF798038103D269B633813FC60C",
	        "spanId": "EEE19B7EC3C1B174",
	        "parentSpanId": "eee19b7ec3c1b173",
	        "name": "edge span",
	        "kind": 3,
	        "startTimeUnixNano": "1544712660000000000",
	        "endTimeUnixNano": 1544712661000000000,
	        "attributes": [
	          {"key": "as.string", "value": {"intValue": "9007199254740993"}},
	          {"key": "as.number", "value": {"intValue": 42}}
	        ],
	        "status": {"code": 2, "message": "boom"},
	        "somethingNew": {"nested": [1, 2, 3]}
	      }]
	    }]
	  }],
	  "unknownTopLevel": true
	}`
	c := &capturing{}
	h := NewHTTPHandler(testConfig, c, logger())
	r := httptest.NewRequest(http.MethodPost, "/v1/traces", bytes.NewReader([]byte(body)))
	r.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	s := c.got.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0)
	wantTrace, _ := hexTraceID("5b8efff798038103d269b633813fc60c")
	if s.TraceID() != wantTrace || s.SpanID().String() != "eee19b7ec3c1b174" || s.ParentSpanID().String() != "eee19b7ec3c1b173" {
		t.Errorf("IDs %s %s %s", s.TraceID(), s.SpanID(), s.ParentSpanID())
	}
	if s.Kind() != ptrace.SpanKindClient || s.Status().Code() != ptrace.StatusCodeError {
		t.Errorf("kind %s, status %s", s.Kind(), s.Status().Code())
	}
	if s.StartTimestamp() != 1544712660000000000 || s.EndTimestamp() != 1544712661000000000 {
		t.Errorf("times %d %d", s.StartTimestamp(), s.EndTimestamp())
	}
	big, _ := s.Attributes().Get("as.string")
	small, _ := s.Attributes().Get("as.number")
	if big.Int() != 9007199254740993 || small.Int() != 42 { // 2^53+1 survives a string
		t.Errorf("ints %d %d", big.Int(), small.Int())
	}
}

func hexTraceID(s string) (pcommon.TraceID, error) {
	var id pcommon.TraceID
	b, err := hex.DecodeString(s)
	copy(id[:], b)
	return id, err
}

// TestGRPCZstd: a client compressing with zstd is understood.
func TestGRPCZstd(t *testing.T) {
	c := &capturing{}
	client := startGRPC(t, c)
	req := ptraceotlp.NewExportRequestFromTraces(tracegen.Telemetrygen(rand.New(rand.NewPCG(3, 3)), 50, 1, time.Now()))
	if _, err := client.Export(context.Background(), req, grpc.UseCompressor("zstd")); err != nil {
		t.Fatal(err)
	}
	if c.got.SpanCount() != 100 {
		t.Fatalf("got %d spans", c.got.SpanCount())
	}
	// And again, so a pooled decoder is reused.
	if _, err := client.Export(context.Background(), req, grpc.UseCompressor("zstd")); err != nil {
		t.Fatal(err)
	}
}

// FuzzGRPCExport: arbitrary bytes as a gRPC Export payload, decoded as the
// gRPC server does and handed to the service: never a panic.
func FuzzGRPCExport(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		req := ptraceotlp.NewExportRequest()
		if err := req.UnmarshalProto(payload); err != nil {
			return
		}
		svc := NewGRPCService(testConfig, &fakeConsumer{}, logger())
		if _, err := svc.Export(context.Background(), req); err != nil {
			t.Fatalf("a decodable request failed: %v", err)
		}
	})
}
