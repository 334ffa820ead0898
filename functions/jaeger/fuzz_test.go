package jaeger

import (
	"bytes"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/thrift/lib/go/thrift"
	model "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/agent"
	tjaeger "github.com/jaegertracing/jaeger-idl/thrift-gen/jaeger"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/zipkincore"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/tracelake/tracelake/functions/pipeline"
)

var update = flag.Bool("update", false, "rewrite the fuzz seed corpus under testdata/fuzz")

// nopConsumer accepts everything and keeps nothing, for fuzzing.
type nopConsumer struct{}

func (nopConsumer) Consume(_ context.Context, _, _ string, td ptrace.Traces) (pipeline.Result, error) {
	return pipeline.Result{Accepted: td.SpanCount()}, nil
}

// FuzzThriftHTTP: any body gets 202, 400 or 413 with a working pipeline,
// never a panic or a 5xx.
func FuzzThriftHTTP(f *testing.F) {
	h := NewHTTPHandler(testConfig, nopConsumer{}, discardLogger())
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "/api/traces", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentTypeThrift)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != 202 && w.Code != 400 && w.Code != 413 {
			t.Fatalf("status %d (%q) for body %q", w.Code, w.Body.String(), body)
		}
	})
}

func FuzzAgentCompact(f *testing.F) { fuzzAgent(f, Compact) }
func FuzzAgentBinary(f *testing.F)  { fuzzAgent(f, Binary) }

// fuzzAgent: any datagram is stored, counted malformed or unsupported;
// never a panic.
func fuzzAgent(f *testing.F, enc Encoding) {
	s, err := NewUDPServer(UDPConfig{DefaultTenant: "t"}, enc, nopConsumer{}, prometheus.NewRegistry(), discardLogger())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, datagram []byte) {
		s.handle(context.Background(), datagram, nil)
		for _, r := range []string{resultConsumeFailed, resultSpansRejected, resultShutdown} {
			if n := counterValue(t, s.packets.WithLabelValues(r)); n != 0 {
				t.Fatalf("%v datagrams counted %s", n, r)
			}
		}
	})
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	ch := make(chan prometheus.Metric, 1)
	c.Collect(ch)
	m := <-ch
	pb := &dto.Metric{}
	if err := m.Write(pb); err != nil {
		t.Fatal(err)
	}
	return pb.GetCounter().GetValue()
}

// FuzzGRPCBatch: any bytes that unmarshal as a PostSpansRequest are
// answered OK or INVALID_ARGUMENT with a working pipeline; never a panic.
func FuzzGRPCBatch(f *testing.F) {
	svc := NewGRPCService(testConfig, nopConsumer{}, discardLogger())
	f.Fuzz(func(t *testing.T, data []byte) {
		var req api_v2.PostSpansRequest
		if err := req.Unmarshal(data); err != nil {
			return
		}
		_, err := svc.PostSpans(context.Background(), &req)
		if c := status.Code(err); c != codes.OK && c != codes.InvalidArgument {
			t.Fatalf("code %s (%v) for %q", c, err, data)
		}
	})
}

// seed is one committed corpus entry. Entries named valid-* must be
// accepted whole; broken-* ones must be refused.
type seed struct {
	name string
	data []byte
}

func seeds(t *testing.T) map[string][]seed {
	full, minimal := thriftBatch(), minimalThriftBatch()
	noSpans := &tjaeger.Batch{Process: &tjaeger.Process{ServiceName: "svc"}, Spans: []*tjaeger.Span{}}
	zeroIDs := minimalThriftBatch()
	zeroIDs.Spans[0].TraceIdLow, zeroIDs.Spans[0].SpanId = 0, 0
	body := thriftBody(t, full)

	agentSeeds := func(enc Encoding) []seed {
		valid := emitBatchDatagram(t, enc, full)
		other := Binary
		if enc == Binary {
			other = Compact
		}
		out := []seed{
			{"valid-fixture", valid},
			{"valid-minimal", emitBatchDatagram(t, enc, minimal)},
			{"valid-no-spans", emitBatchDatagram(t, enc, noSpans)},
			{"valid-oneway", message(t, enc, "emitBatch", thrift.ONEWAY, &agent.AgentEmitBatchArgs{Batch: minimal})},
			{"broken-empty", nil},
			{"broken-garbage", []byte("\x00\x01garbage\xff\xfe")},
			{"broken-truncated", valid[:len(valid)/2]},
			{"broken-other-encoding", emitBatchDatagram(t, other, minimal)},
			{"broken-zipkin", message(t, enc, "emitZipkinBatch", thrift.ONEWAY, &agent.AgentEmitZipkinBatchArgs{Spans: []*zipkincore.Span{{TraceID: 1, ID: 2, Name: "op"}}})},
			{"broken-no-batch", message(t, enc, "emitBatch", thrift.ONEWAY, &agent.AgentEmitBatchArgs{})},
			{"broken-huge-list", hugeAgentList(t, enc)},
		}
		if enc == Binary {
			out = append(out, seed{"valid-unversioned-header", unversionedEmitBatch(t, minimal)})
		}
		return out
	}

	req := func(b *model.Batch) []byte {
		data, err := (&api_v2.PostSpansRequest{Batch: *b}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	fixtureReq := req(protoBatch())
	ownProcess := protoBatch()
	ownProcess.Spans[1].Process = &model.Process{ServiceName: "db", Tags: []model.KeyValue{model.String("db.system", "postgresql")}}
	badTime := protoBatch()
	badTime.Spans = badTime.Spans[:1]
	badTime.Spans[0].StartTime = time.Unix(253402300799, 0).UTC() // the last valid second
	// A span whose trace_id (field 1) has 15 bytes, by hand: the model
	// cannot marshal one.
	span := append([]byte{0x0a, 15}, bytes.Repeat([]byte{1}, 15)...)
	batch := append([]byte{0x0a, byte(len(span))}, span...)
	shortID := append([]byte{0x0a, byte(len(batch))}, batch...)
	// A timestamp past year 9999 (google.protobuf.Timestamp's range):
	// the largest valid seconds, bumped within the same varint length.
	const maxSeconds = 253402300799 // 9999-12-31T23:59:59Z
	outOfRange := bytes.Replace(req(badTime),
		binary.AppendUvarint(nil, maxSeconds), binary.AppendUvarint(nil, maxSeconds+1_000_000), 1)

	return map[string][]seed{
		"FuzzThriftHTTP": {
			{"valid-fixture", body},
			{"valid-minimal", thriftBody(t, minimal)},
			{"valid-no-spans", thriftBody(t, noSpans)},
			{"valid-zero-ids", thriftBody(t, zeroIDs)},
			{"broken-empty", nil},
			{"broken-truncated", body[:len(body)-7]},
			{"broken-compact", emitBatchDatagram(t, Compact, minimal)},
			{"broken-missing-required", thriftBody(t, &tjaeger.Batch{})},
			{"broken-huge-list", hugeList(1<<31 - 1)},
			{"broken-huge-tags", hugeTags(50_000_000)},
			{"broken-negative-string", []byte{12, 0, 1, 11, 0, 1, 0xff, 0xff, 0xff, 0xff}},
		},
		"FuzzAgentCompact": agentSeeds(Compact),
		"FuzzAgentBinary":  agentSeeds(Binary),
		"FuzzGRPCBatch": {
			{"valid-fixture", fixtureReq},
			{"valid-minimal", req(&model.Batch{Process: &model.Process{ServiceName: "svc"}, Spans: []*model.Span{{TraceID: model.NewTraceID(0, 1), SpanID: 2, OperationName: "op", StartTime: start}}})},
			{"valid-empty", nil},
			{"valid-span-process", req(ownProcess)},
			{"broken-truncated", fixtureReq[:len(fixtureReq)/2]},
			{"broken-garbage", []byte("\x0a\xff\xff\xff\xff\x0fgarbage")},
			{"broken-short-trace-id", shortID},
			{"broken-time-out-of-range", outOfRange},
		},
	}
}

// unversionedEmitBatch is emitBatch with the binary protocol's old,
// unversioned message header (TBinaryProtocol with strict writes off).
func unversionedEmitBatch(t *testing.T, b *tjaeger.Batch) []byte {
	buf := thrift.NewTMemoryBuffer()
	f := thrift.NewTBinaryProtocolFactoryConf(&thrift.TConfiguration{TBinaryStrictWrite: thrift.BoolPtr(false)})
	if err := agent.NewAgentClientFactory(buf, f).EmitBatch(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

const corpusHeader = "go test fuzz v1\n"

func encodeSeed(data []byte) []byte {
	return []byte(corpusHeader + "[]byte(" + strconv.Quote(string(data)) + ")\n")
}

func decodeSeed(file []byte) ([]byte, error) {
	s, ok := strings.CutPrefix(string(file), corpusHeader)
	if !ok {
		return nil, fmt.Errorf("no %q header", strings.TrimSpace(corpusHeader))
	}
	s, ok = strings.CutPrefix(strings.TrimSpace(s), "[]byte(")
	if !ok || !strings.HasSuffix(s, ")") {
		return nil, fmt.Errorf("not one []byte argument")
	}
	data, err := strconv.Unquote(strings.TrimSuffix(s, ")"))
	return []byte(data), err
}

// TestSeedCorpus keeps the committed corpus equal to what the fixtures
// encode (-update rewrites it) and checks that each valid seed is
// accepted and each broken one refused, so the fuzzers start from both.
func TestSeedCorpus(t *testing.T) {
	for target, entries := range seeds(t) {
		dir := filepath.Join("testdata", "fuzz", target)
		if *update {
			os.RemoveAll(dir)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if err := os.WriteFile(filepath.Join(dir, e.name), encodeSeed(e.data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
		files, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.name)
			file, err := os.ReadFile(filepath.Join(dir, e.name))
			if err != nil {
				t.Errorf("%s: %v (run go test -run TestSeedCorpus -update)", target, err)
				continue
			}
			data, err := decodeSeed(file)
			if err != nil {
				t.Errorf("%s/%s: %v", target, e.name, err)
				continue
			}
			if !bytes.Equal(data, e.data) {
				t.Errorf("%s/%s differs from what the fixtures encode (run go test -run TestSeedCorpus -update)", target, e.name)
			}
			if got, want := accepted(t, target, data), strings.HasPrefix(e.name, "valid-"); got != want {
				t.Errorf("%s/%s: accepted = %v, want %v", target, e.name, got, want)
			}
		}
		for _, f := range files {
			if !slices.Contains(names, f.Name()) {
				t.Errorf("%s: %s is not generated by the fixtures", target, f.Name())
			}
		}
	}
}

// accepted reports whether target's receiver takes data whole.
func accepted(t *testing.T, target string, data []byte) bool {
	switch target {
	case "FuzzThriftHTTP":
		r := httptest.NewRequest(http.MethodPost, "/api/traces", bytes.NewReader(data))
		r.Header.Set("Content-Type", contentTypeThrift)
		w := httptest.NewRecorder()
		NewHTTPHandler(testConfig, nopConsumer{}, discardLogger()).ServeHTTP(w, r)
		return w.Code == http.StatusAccepted
	case "FuzzAgentCompact", "FuzzAgentBinary":
		enc := Compact
		if target == "FuzzAgentBinary" {
			enc = Binary
		}
		_, err := decodeEmitBatch(context.Background(), enc, data)
		return err == nil
	case "FuzzGRPCBatch":
		var req api_v2.PostSpansRequest
		if err := req.Unmarshal(data); err != nil {
			return false
		}
		_, err := NewGRPCService(testConfig, nopConsumer{}, discardLogger()).PostSpans(context.Background(), &req)
		return err == nil
	}
	t.Fatalf("unknown fuzz target %s", target)
	return false
}
