package sampling

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gogo/protobuf/jsonpb"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	thriftconv "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger/jaegerthriftcoverter"
	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// The two functions below are the test oracle: Jaeger's own encoders, as
// its internal/sampling/http handler composes them (encodeProto,
// encodeThriftLegacy and encodeThriftEnums092, with p2json's
// SamplingStrategyResponseToJSON), built from the same libraries. Our
// encoder must agree with them byte for byte.

// jaegerSamplingJSON is what Jaeger serves on GET /sampling.
func jaegerSamplingJSON(r *api_v2.SamplingStrategyResponse) (string, error) {
	m := jsonpb.Marshaler{EmitDefaults: true}
	s, err := m.MarshalToString(r)
	if err != nil {
		return "", err
	}
	s = strings.ReplaceAll(s, `"probabilisticSampling":null,`, "")
	s = strings.ReplaceAll(s, `,"rateLimitingSampling":null`, "")
	s = strings.ReplaceAll(s, `,"operationSampling":null`, "")
	return s, nil
}

// jaegerLegacyJSON is what Jaeger serves on GET /.
func jaegerLegacyJSON(r *api_v2.SamplingStrategyResponse) (string, error) {
	t, err := thriftconv.ConvertSamplingResponseFromDomain(r)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(t)
	if err != nil {
		return "", err
	}
	s := string(b)
	for _, typ := range []api_v2.SamplingStrategyType{api_v2.SamplingStrategyType_PROBABILISTIC, api_v2.SamplingStrategyType_RATE_LIMITING} {
		s = strings.Replace(s, fmt.Sprintf(`"strategyType":"%s"`, typ), fmt.Sprintf(`"strategyType":%d`, typ), 1)
	}
	return s, nil
}

// checkResponse reports what a validated strategy must never contain.
func checkResponse(r *api_v2.SamplingStrategyResponse) error {
	isProbability := func(p float64) bool { return p >= 0 && p <= 1 }
	switch r.StrategyType {
	case api_v2.SamplingStrategyType_PROBABILISTIC:
		if r.ProbabilisticSampling == nil || r.RateLimitingSampling != nil {
			return fmt.Errorf("PROBABILISTIC with probabilisticSampling %v and rateLimitingSampling %v", r.ProbabilisticSampling, r.RateLimitingSampling)
		}
		if !isProbability(r.ProbabilisticSampling.SamplingRate) {
			return fmt.Errorf("samplingRate %v", r.ProbabilisticSampling.SamplingRate)
		}
	case api_v2.SamplingStrategyType_RATE_LIMITING:
		if r.RateLimitingSampling == nil || r.ProbabilisticSampling != nil {
			return fmt.Errorf("RATE_LIMITING with probabilisticSampling %v and rateLimitingSampling %v", r.ProbabilisticSampling, r.RateLimitingSampling)
		}
		if m := r.RateLimitingSampling.MaxTracesPerSecond; m < 0 || m > math.MaxInt16 {
			return fmt.Errorf("maxTracesPerSecond %d", m)
		}
	default:
		return fmt.Errorf("strategyType %d", r.StrategyType)
	}
	if ops := r.OperationSampling; ops != nil {
		if !isProbability(ops.DefaultSamplingProbability) {
			return fmt.Errorf("defaultSamplingProbability %v", ops.DefaultSamplingProbability)
		}
		if len(ops.PerOperationStrategies) == 0 {
			return fmt.Errorf("operationSampling without operations")
		}
		seen := map[string]bool{}
		for _, op := range ops.PerOperationStrategies {
			if op.Operation == "" || seen[op.Operation] {
				return fmt.Errorf("operation %q empty or repeated", op.Operation)
			}
			seen[op.Operation] = true
			if op.ProbabilisticSampling == nil || !isProbability(op.ProbabilisticSampling.SamplingRate) {
				return fmt.Errorf("operation %q: probabilisticSampling %v", op.Operation, op.ProbabilisticSampling)
			}
		}
	}
	return nil
}

// checkEncodings checks that both encodings of r are Jaeger's.
func checkEncodings(r *api_v2.SamplingStrategyResponse) error {
	for _, legacy := range []bool{false, true} {
		got, err := encodeJSON(r, legacy)
		if err != nil {
			return fmt.Errorf("encode (legacy %v): %w", legacy, err)
		}
		want, err := jaegerSamplingJSON(r)
		if legacy {
			want, err = jaegerLegacyJSON(r)
		}
		if err != nil {
			return fmt.Errorf("Jaeger's encoder (legacy %v): %w", legacy, err)
		}
		if string(got) != want {
			return fmt.Errorf("encoding (legacy %v) differs from Jaeger's:\n got %s\nwant %s", legacy, got, want)
		}
	}
	return nil
}

func mustParse(t testing.TB, data string) *Strategies {
	t.Helper()
	s, err := ParseStrategies([]byte(data))
	if err != nil {
		t.Fatalf("ParseStrategies: %v", err)
	}
	return s
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
