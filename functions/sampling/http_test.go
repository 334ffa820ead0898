package sampling

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gogo/protobuf/jsonpb"
	"github.com/gogo/protobuf/proto"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"github.com/jaegertracing/jaeger-idl/thrift-gen/sampling"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// newTestProvider returns a provider of the strategies file content (the
// built-in default when content is empty), and its registry.
func newTestProvider(t testing.TB, content string) (*Provider, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	path := ""
	if content != "" {
		path = filepath.Join(t.TempDir(), "strategies.json")
		writeFile(t, path, content)
	}
	p, err := NewProvider(path, nil, reg)
	if err != nil {
		t.Fatal(err)
	}
	return p, reg
}

func get(t testing.TB, h http.Handler, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestHTTPStatus(t *testing.T) {
	p, reg := newTestProvider(t, string(readTestdata(t, "strategies.json")))
	h := NewHTTPHandler(p, nil)
	tests := []struct {
		method, target string
		status         int
		body           string // a substring of the body
	}{
		{"GET", "/?service=foo", 200, `"strategyType":0`},
		{"GET", "/sampling?service=foo", 200, `"strategyType":"PROBABILISTIC"`},
		{"HEAD", "/sampling?service=foo", 200, ``},
		{"GET", "/sampling?service=", 200, `"samplingRate":0.5`}, // one, empty: the default, as in Jaeger
		{"GET", "/sampling?service=bar&other=1", 200, `"strategyType":"RATE_LIMITING"`},
		{"GET", "/sampling", 400, "'service' parameter must be provided once"},
		{"GET", "/", 400, "'service' parameter must be provided once"},
		{"GET", "/sampling?service=a&service=b", 400, "'service' parameter must be provided once"},
		{"GET", "/?service=a&service=a", 400, "'service' parameter must be provided once"},
		{"GET", "/sampling?Service=foo", 400, "'service' parameter must be provided once"},
		{"POST", "/sampling?service=foo", 405, ""},
		{"PUT", "/?service=foo", 405, ""},
		{"DELETE", "/sampling?service=foo", 405, ""},
		{"GET", "/sampling/?service=foo", 404, ""},
		{"GET", "/api/sampling?service=foo", 404, ""},
		{"GET", "/other?service=foo", 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := get(t, h, tt.method, tt.target)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d; body %q", rec.Code, tt.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tt.body) {
				t.Errorf("body %q does not contain %q", rec.Body, tt.body)
			}
			switch {
			case tt.status == 200 && rec.Header().Get("Content-Type") != "application/json":
				t.Errorf("Content-Type %q", rec.Header().Get("Content-Type"))
			case tt.status == 405 && !strings.Contains(rec.Header().Get("Allow"), "GET"):
				t.Errorf("Allow %q", rec.Header().Get("Allow"))
			}
		})
	}
	if got := testutil.ToFloat64(p.metrics.requests.WithLabelValues(endpointSampling, resultBadRequest)); got != 3 {
		t.Errorf("bad requests on /sampling counted %v, want 3", got)
	}
	if got := testutil.ToFloat64(p.metrics.requests.WithLabelValues(endpointLegacy, resultOK)); got != 1 {
		t.Errorf("good requests on / counted %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(reg, "tracelake_sampling_requests_total"); err != nil || n == 0 {
		t.Errorf("tracelake_sampling_requests_total not gathered: %d series, %v", n, err)
	}
}

// goldenCases are the answers kept under testdata/golden, one file per
// endpoint; refresh them with go test -run TestHTTPGolden -update.
var goldenCases = []struct {
	name, file, service string
}{
	{"builtin_default", "", "anything"},
	{"docs_foo", "strategies.json", "foo"},
	{"docs_bar", "strategies.json", "bar"},
	{"docs_default", "strategies.json", "unknown"},
	{"operations_foo", "operations.json", "foo"},
	{"operations_bar", "operations.json", "bar"},
	{"operations_qux", "operations.json", "qux"},
	{"ratelimiting_default_other", "ratelimiting_default.json", "other"},
	{"ratelimiting_default_api", "ratelimiting_default.json", "api"},
	{"escaping", "escaping.json", `café <frontend> & "co"`},
	{"escaping_max", "escaping.json", "max"},
}

func TestHTTPGolden(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			content := ""
			if gc.file != "" {
				content = string(readTestdata(t, gc.file))
			}
			p, _ := newTestProvider(t, content)
			h := NewHTTPHandler(p, nil)
			for _, ep := range []struct{ path, suffix string }{{"/sampling", ".sampling.json"}, {"/", ".legacy.json"}} {
				rec := get(t, h, "GET", ep.path+"?service="+url.QueryEscape(gc.service))
				if rec.Code != 200 {
					t.Fatalf("GET %s: %d %s", ep.path, rec.Code, rec.Body)
				}
				golden := filepath.Join("testdata", "golden", gc.name+ep.suffix)
				if *update {
					if err := os.WriteFile(golden, rec.Body.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run with -update to create it)", err)
				}
				if !bytes.Equal(rec.Body.Bytes(), want) {
					t.Errorf("GET %s differs from %s:\n got %s\nwant %s", ep.path, golden, rec.Body, want)
				}
			}
			// And both are exactly what Jaeger's encoders produce.
			if err := checkEncodings(p.lookup(gc.service)); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestHTTPMatchesJaeger checks answers recorded from Jaeger itself.
func TestHTTPMatchesJaeger(t *testing.T) {
	tests := []struct {
		name, file, target, want string
	}{
		// internal/sampling/http/handler_test.go, a rate-limiting strategy of 42.
		{"handler test, legacy", `{"default_strategy": {"type": "ratelimiting", "param": 42}}`, "/?service=Y",
			`{"strategyType":1,"rateLimitingSampling":{"maxTracesPerSecond":42}}`},
		{"handler test, sampling", `{"default_strategy": {"type": "ratelimiting", "param": 42}}`, "/sampling?service=Y",
			`{"strategyType":"RATE_LIMITING","rateLimitingSampling":{"maxTracesPerSecond":42}}`},
		// Jaeger's answer for service foo of the strategies file in its
		// documentation, as a user recorded it from a running Jaeger.
		{"documentation example", string(readTestdata(t, "strategies.json")), "/sampling?service=foo",
			`{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.8},"operationSampling":{"defaultSamplingProbability":0.8,"defaultLowerBoundTracesPerSecond":0,"perOperationStrategies":[{"operation":"op1","probabilisticSampling":{"samplingRate":0.2}},{"operation":"op2","probabilisticSampling":{"samplingRate":0.4}},{"operation":"/health","probabilisticSampling":{"samplingRate":0}},{"operation":"/metrics","probabilisticSampling":{"samplingRate":0}}],"defaultUpperBoundTracesPerSecond":0}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := newTestProvider(t, tt.file)
			rec := get(t, NewHTTPHandler(p, nil), "GET", tt.target)
			if rec.Body.String() != tt.want {
				t.Errorf("\n got %s\nwant %s", rec.Body, tt.want)
			}
		})
	}
}

// thrift092Response is SamplingStrategyResponse as Go code generated by
// Thrift 0.9.2 decodes it: the enum is a plain integer (Jaeger keeps such
// types in internal/sampling/http/thrift-0.9.2 to test its / endpoint).
type thrift092Response struct {
	StrategyType          int64                                    `json:"strategyType"`
	ProbabilisticSampling *sampling.ProbabilisticSamplingStrategy  `json:"probabilisticSampling,omitempty"`
	RateLimitingSampling  *sampling.RateLimitingSamplingStrategy   `json:"rateLimitingSampling,omitempty"`
	OperationSampling     *sampling.PerOperationSamplingStrategies `json:"operationSampling,omitempty"`
}

// TestClientsDecode decodes every answer the way real SDKs do and checks
// they understand what the provider means.
func TestClientsDecode(t *testing.T) {
	for _, gc := range goldenCases {
		t.Run(gc.name, func(t *testing.T) {
			content := ""
			if gc.file != "" {
				content = string(readTestdata(t, gc.file))
			}
			p, _ := newTestProvider(t, content)
			h := NewHTTPHandler(p, nil)
			want, _ := p.GetSamplingStrategy(gc.service)
			body := func(path string) []byte {
				rec := get(t, h, "GET", path+"?service="+url.QueryEscape(gc.service))
				if rec.Code != 200 {
					t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
				}
				return rec.Body.Bytes()
			}
			current, legacy := body("/sampling"), body("/")

			// OpenTelemetry Go contrib's jaegerremote sampler (and Jaeger's
			// own p2json) read either endpoint with gogo's jsonpb.
			for path, b := range map[string][]byte{"/sampling": current, "/": legacy} {
				got := new(api_v2.SamplingStrategyResponse)
				if err := jsonpb.Unmarshal(bytes.NewReader(b), got); err != nil {
					t.Fatalf("jsonpb.Unmarshal of %s: %v", path, err)
				}
				if !proto.Equal(got, want) {
					t.Errorf("jsonpb read %s as %v, want %v", path, got, want)
				}
			}

			// jaeger-client-go polls /sampling and reads it with
			// encoding/json into its Thrift-generated types, whose enum
			// decodes from its name.
			var tc sampling.SamplingStrategyResponse
			if err := json.Unmarshal(current, &tc); err != nil {
				t.Fatalf("jaeger-client-go's decoding of /sampling: %v", err)
			}
			checkThrift(t, "/sampling", int64(tc.StrategyType), tc.ProbabilisticSampling, tc.RateLimitingSampling, tc.OperationSampling, want)

			// SDKs built on Thrift 0.9.2 poll / and need the integer code,
			// which newer Thrift types refuse: that is why / exists.
			var t092 thrift092Response
			if err := json.Unmarshal(legacy, &t092); err != nil {
				t.Fatalf("Thrift 0.9.2 decoding of /: %v", err)
			}
			checkThrift(t, "/", t092.StrategyType, t092.ProbabilisticSampling, t092.RateLimitingSampling, t092.OperationSampling, want)
			if err := json.Unmarshal(legacy, new(sampling.SamplingStrategyResponse)); err == nil {
				t.Error("Thrift 0.9.3+ types decoded /'s integer strategyType; the legacy endpoint would be unnecessary")
			}
		})
	}
}

func checkThrift(t *testing.T, path string, typ int64, p *sampling.ProbabilisticSamplingStrategy, rl *sampling.RateLimitingSamplingStrategy,
	ops *sampling.PerOperationSamplingStrategies, want *api_v2.SamplingStrategyResponse) {
	t.Helper()
	if typ != int64(want.StrategyType) {
		t.Errorf("%s: strategyType %d, want %d", path, typ, want.StrategyType)
	}
	if (p == nil) != (want.ProbabilisticSampling == nil) || p != nil && p.SamplingRate != want.ProbabilisticSampling.SamplingRate {
		t.Errorf("%s: probabilisticSampling %v, want %v", path, p, want.ProbabilisticSampling)
	}
	if (rl == nil) != (want.RateLimitingSampling == nil) || rl != nil && int32(rl.MaxTracesPerSecond) != want.RateLimitingSampling.MaxTracesPerSecond {
		t.Errorf("%s: rateLimitingSampling %v, want %v", path, rl, want.RateLimitingSampling)
	}
	wo := want.OperationSampling
	if (ops == nil) != (wo == nil) {
		t.Fatalf("%s: operationSampling %v, want %v", path, ops, wo)
	}
	if ops == nil {
		return
	}
	if ops.DefaultSamplingProbability != wo.DefaultSamplingProbability || len(ops.PerOperationStrategies) != len(wo.PerOperationStrategies) {
		t.Fatalf("%s: operationSampling %v, want %v", path, ops, wo)
	}
	for i, op := range ops.PerOperationStrategies {
		w := wo.PerOperationStrategies[i]
		if op.Operation != w.Operation || op.ProbabilisticSampling.SamplingRate != w.ProbabilisticSampling.SamplingRate {
			t.Errorf("%s: operation %d is %v, want %v", path, i, op, w)
		}
	}
}

// The response body is complete JSON with no trailing newline, like
// Jaeger's.
func TestHTTPBodyIsExactlyOneJSONValue(t *testing.T) {
	p, _ := newTestProvider(t, "")
	resp := get(t, NewHTTPHandler(p, nil), "GET", "/sampling?service=x").Result()
	b, _ := io.ReadAll(resp.Body)
	if want := `{"strategyType":"PROBABILISTIC","probabilisticSampling":{"samplingRate":0.001}}`; string(b) != want {
		t.Fatalf("got %s, want %s", b, want)
	}
}
