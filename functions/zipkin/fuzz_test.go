package zipkin

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/jaegertracing/jaeger-idl/thrift-gen/zipkincore"
	zipkinthrift "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/zipkin/zipkinthriftconverter"
	"github.com/openzipkin/zipkin-go/proto/zipkin_proto3"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"google.golang.org/protobuf/proto"

	"github.com/tracelake/tracelake/functions/pipeline"
)

var updateSeeds = flag.Bool("update", false, "rewrite the fuzz seed corpus under testdata/fuzz")

// checkingConsumer answers like the pipeline and turns a broken invariant
// of the translation into an error, which the handler answers with 500,
// failing the fuzzer. It keeps nothing, so fuzzing runs in flat memory.
type checkingConsumer struct{}

func (checkingConsumer) Consume(_ context.Context, _, _ string, td ptrace.Traces) (pipeline.Result, error) {
	var broken error
	forEachSpan(td, func(s ptrace.Span) {
		if _, ok := s.Attributes().Get(fixupTag); ok {
			broken = errors.New("the internal fixup tag reached the pipeline")
		}
		for _, k := range []string{AttrDebug, AttrShared} {
			if v, ok := s.Attributes().Get(k); ok && (v.Type() != pcommon.ValueTypeBool || !v.Bool()) {
				broken = fmt.Errorf("%s = %v", k, v.AsRaw())
			}
		}
	})
	if broken != nil {
		return pipeline.Result{}, broken
	}
	return validate(td), nil
}

type fuzzTarget struct {
	path, ctype string
}

var fuzzTargets = map[string]fuzzTarget{
	"FuzzV2JSON":   {PathV2, "application/json"},
	"FuzzV2Proto":  {PathV2, "application/x-protobuf"},
	"FuzzV1JSON":   {PathV1, "application/json"},
	"FuzzV1Thrift": {PathV1, "application/x-thrift"},
}

// fuzzPost requires every body to be answered 202, 400 or 413: never a
// panic, and never a 5xx while the pipeline works.
func fuzzPost(f *testing.F) {
	target := fuzzTargets[f.Name()]
	mux := http.NewServeMux()
	NewHandler(Config{MaxRequestBytes: 1 << 20, TenantHeader: "X-Scope-OrgID", DefaultTenant: "fuzz"},
		checkingConsumer{}, logger()).Register(mux)
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, target.path, bytes.NewReader(body))
		r.Header.Set("Content-Type", target.ctype)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		switch w.Code {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}

// The seed corpora live in testdata/fuzz/<FuzzName>/ (valid-* bodies are
// answered 202, broken-* 400; TestFuzzSeeds checks); go test -update
// -run TestFuzzSeeds rewrites them from fuzzSeeds. FuzzV2JSONDifferential
// (v2json_test.go) has its own, from v2EdgeCases.

func FuzzV2JSON(f *testing.F)   { fuzzPost(f) }
func FuzzV2Proto(f *testing.F)  { fuzzPost(f) }
func FuzzV1JSON(f *testing.F)   { fuzzPost(f) }
func FuzzV1Thrift(f *testing.F) { fuzzPost(f) }

func fuzzSeeds(t testing.TB) map[string]map[string][]byte {
	mesh := readTestdata(t, "v2_mesh.json")
	finagle := readTestdata(t, "v1_finagle.json")
	thriftOf := func(spans []*zipkincore.Span) []byte {
		b, err := zipkinthrift.SerializeThrift(context.Background(), spans)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	deterministic := func(m proto.Message) []byte {
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var meshList zipkin_proto3.ListOfSpans
	if err := proto.Unmarshal(protoOf(t, mesh), &meshList); err != nil {
		t.Fatal(err)
	}
	meshProto := deterministic(&meshList)
	id8 := []byte{0x36, 0x91, 0xa8, 0xbd, 0x8b, 0x50, 0xc1, 0x94}
	thrift := thriftOf(thriftSpans())
	invalidUTF8 := deterministic(&zipkin_proto3.ListOfSpans{Spans: []*zipkin_proto3.Span{{TraceId: append(id8, id8...), Id: id8, Name: "NAME"}}})
	invalidUTF8[bytes.Index(invalidUTF8, []byte("NAME"))] = 0xff

	return map[string]map[string][]byte{
		"FuzzV2JSON": {
			"valid-mesh": mesh,
			// The example span of Zipkin's quickstart.
			"valid-quickstart": []byte(`[{"id":"352bff9a74ca9ad2","traceId":"5af7183fb1d4cf5f","parentId":"6b221d5bc9e6496c","name":"get /api","timestamp":1556604172355737,"duration":1431,"kind":"SERVER","localEndpoint":{"serviceName":"backend","ipv4":"192.168.99.1","port":3306},"remoteEndpoint":{"ipv4":"172.19.0.2","port":58648},"tags":{"http.method":"GET","http.path":"/api"}}]`),
			// What the collector's own Zipkin exporter writes: scope, status,
			// links and event attributes encoded in tags and annotations.
			"valid-otel-collector":                []byte(`[{"traceId":"0af7651916cd43dd8448eb211c80319c","id":"b7ad6b7169203331","parentId":"00f067aa0ba902b7","name":"publish","kind":"PRODUCER","timestamp":1700000000000000,"duration":250,"localEndpoint":{"serviceName":"orders"},"remoteEndpoint":{"serviceName":"kafka"},"annotations":[{"timestamp":1700000000000100,"value":"exception|{\"exception.type\":\"timeout\",\"retry\":2}|0"}],"tags":{"otel.scope.name":"orders/kafka","otel.scope.version":"1.0.0","otel.status_code":"STATUS_CODE_ERROR","otel.status_description":"broker unavailable","otlp.link.0":"0af7651916cd43dd8448eb211c80319d|00f067aa0ba902b8||{\"k\":\"v\"}|0","w3c.tracestate":"rojo=00f067aa0ba902b7","messaging.system":"kafka"}}]`),
			"valid-envoy-no-timestamp":            []byte(`[{"traceId":"3691a8bd8b50c194","id":"3691a8bd8b50c194","kind":"SERVER","name":"ingress","shared":true,"debug":true,"localEndpoint":{"serviceName":"istio-ingressgateway","ipv4":"10.1.72.4"},"tags":{"upstream_cluster":"outbound|80||echo.default.svc.cluster.local"}}]`),
			"valid-empty-list":                    []byte(`[]`),
			"valid-pipes":                         []byte(`[{"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","annotations":[{"timestamp":1,"value":"a|b"},{"timestamp":2,"value":"a|b|c"},{"timestamp":3,"value":"|||"}]}]`),
			"broken-truncated":                    mesh[:len(mesh)/2],
			"broken-v1-json":                      finagle,
			"broken-envoy-1.13-string-timestamps": []byte(`[{"traceId":"83713138fa14c726","id":"83713138fa14c726","kind":"SERVER","name":"www.hello","timestamp":"1572849988488551","duration":"7131","localEndpoint":{"serviceName":"envoy-cluster","ipv4":"172.31.0.5"}}]`),
			"broken-bad-link":                     []byte(`[{"traceId":"463ac35c9f6413ad","id":"a2fb4a1d1a96d312","tags":{"otlp.link.0":"zz|yy|||0"}}]`),
			"broken-no-trace-id":                  []byte(`[null,{"id":"a2fb4a1d1a96d312","name":"orphan"}]`),
		},
		"FuzzV2Proto": {
			"valid-mesh": meshProto,
			"valid-8-byte-trace-id": deterministic(&zipkin_proto3.ListOfSpans{Spans: []*zipkin_proto3.Span{{
				TraceId: id8, Id: id8, Name: "ingress", Kind: zipkin_proto3.Span_SERVER, Shared: true, Debug: true,
				Timestamp: 1582662767960310, Duration: 2741,
				LocalEndpoint: &zipkin_proto3.Endpoint{ServiceName: "istio-ingressgateway", Ipv4: []byte{10, 1, 72, 4}, Port: 8080},
				Annotations:   []*zipkin_proto3.Annotation{{Timestamp: 1582662767960400, Value: "a|b|c"}},
			}}}),
			"valid-empty":              {},
			"broken-truncated":         meshProto[:len(meshProto)/2],
			"broken-json":              mesh,
			"broken-no-span-id":        deterministic(&zipkin_proto3.ListOfSpans{Spans: []*zipkin_proto3.Span{{TraceId: append(id8, id8...)}}}),
			"broken-6-byte-trace-id":   deterministic(&zipkin_proto3.ListOfSpans{Spans: []*zipkin_proto3.Span{{TraceId: id8[:6], Id: id8}}}),
			"broken-invalid-utf8-name": invalidUTF8,
		},
		"FuzzV1JSON": {
			"valid-finagle": finagle,
			// The annotations-only form older clients (and Zipkin's docs) use,
			// with a local component.
			"valid-local-component": []byte(`[{"traceId":"4e441824ec2b6a44","id":"4e441824ec2b6a44","name":"get","timestamp":1478624611519000,"duration":1000,"annotations":[{"timestamp":1478624611519000,"value":"Server Send Error: TimeoutException: socket timed out","endpoint":{"serviceName":"zipkin-server","ipv4":"192.168.99.1","port":9411}}],"binaryAnnotations":[{"key":"lc","value":"cache","endpoint":{"serviceName":"zipkin-server","ipv4":"192.168.99.1","port":9411}},{"key":"error","value":"timeout"}]}]`),
			"valid-empty-list":      []byte(`[]`),
			"broken-truncated":      finagle[:len(finagle)/3],
			"broken-v2-json":        mesh,
			"broken-short-id":       []byte(`[{"traceId":"1","id":"1"}]`),
			// Both made the translator dereference nil.
			"broken-null-span":              []byte(`[null]`),
			"broken-null-binary-annotation": []byte(`[{"traceId":"4e441824ec2b6a44","id":"4e441824ec2b6a44","binaryAnnotations":[{"key":"lc","value":"cache"},null]}]`),
			"broken-object-value":           []byte(`[{"traceId":"4e441824ec2b6a44","id":"4e441824ec2b6a44","binaryAnnotations":[{"key":"k","value":{"a":1}}]}]`),
		},
		"FuzzV1Thrift": {
			"valid-finagle":    thrift,
			"valid-empty-list": thriftOf(nil),
			"broken-truncated": thrift[:len(thrift)/2],
			"broken-json":      finagle,
			// A list header claiming 2^31-1 spans.
			"broken-huge-list":            {0x0c, 0x7f, 0xff, 0xff, 0xff},
			"broken-annotation-list-bomb": thriftListBomb,
		},
	}
}

// TestFuzzSeeds checks that each committed seed is answered as its name
// says, and with -update rewrites the corpus.
func TestFuzzSeeds(t *testing.T) {
	seeds := fuzzSeeds(t)
	if *updateSeeds {
		for fuzz, bodies := range seeds {
			dir := filepath.Join("testdata", "fuzz", fuzz)
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, body := range bodies {
				data := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", body)
				if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for fuzz, bodies := range seeds {
		target := fuzzTargets[fuzz]
		dir := filepath.Join("testdata", "fuzz", fuzz)
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		var want []string
		for name := range bodies {
			want = append(want, name)
		}
		sort.Strings(want)
		if fmt.Sprint(names) != fmt.Sprint(want) {
			t.Errorf("%s: committed seeds %v, want %v (go test -update -run TestFuzzSeeds)", fuzz, names, want)
		}
		for _, name := range names {
			t.Run(fuzz+"/"+name, func(t *testing.T) {
				body := readSeed(t, filepath.Join(dir, name))
				r := httptest.NewRequest(http.MethodPost, target.path, bytes.NewReader(body))
				r.Header.Set("Content-Type", target.ctype)
				w := httptest.NewRecorder()
				newMux(checkingConsumer{}).ServeHTTP(w, r)
				wantStatus := http.StatusAccepted
				if strings.HasPrefix(name, "broken-") {
					wantStatus = http.StatusBadRequest
				}
				if w.Code != wantStatus {
					t.Errorf("status %d, want %d: %s", w.Code, wantStatus, w.Body)
				}
			})
		}
	}
}

// readSeed reads a file in the "go test fuzz v1" format with one []byte.
func readSeed(t testing.TB, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	header, rest, _ := strings.Cut(string(data), "\n")
	quoted, ok := strings.CutPrefix(strings.TrimSpace(rest), "[]byte(")
	quoted, ok2 := strings.CutSuffix(quoted, ")")
	if header != "go test fuzz v1" || !ok || !ok2 {
		t.Fatalf("%s is not a go test fuzz v1 file with one []byte", path)
	}
	s, err := strconv.Unquote(quoted)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return []byte(s)
}
