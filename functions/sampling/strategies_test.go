package sampling

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
)

func prob(p float64) *api_v2.SamplingStrategyResponse { return probabilistic(p) }

func rateLimit(n int32) *api_v2.SamplingStrategyResponse {
	return &api_v2.SamplingStrategyResponse{
		StrategyType:         api_v2.SamplingStrategyType_RATE_LIMITING,
		RateLimitingSampling: &api_v2.RateLimitingSamplingStrategy{MaxTracesPerSecond: n},
	}
}

type op struct {
	name string
	p    float64
}

// withOps adds operationSampling to r.
func withOps(r *api_v2.SamplingStrategyResponse, defaultProbability float64, ops ...op) *api_v2.SamplingStrategyResponse {
	r.OperationSampling = &api_v2.PerOperationSamplingStrategies{DefaultSamplingProbability: defaultProbability}
	for _, o := range ops {
		r.OperationSampling.PerOperationStrategies = append(r.OperationSampling.PerOperationStrategies, &api_v2.OperationSamplingStrategy{
			Operation:             o.name,
			ProbabilisticSampling: &api_v2.ProbabilisticSamplingStrategy{SamplingRate: o.p},
		})
	}
	return r
}

func TestStrategyResolution(t *testing.T) {
	docs := string(readTestdata(t, "strategies.json"))
	ops := string(readTestdata(t, "operations.json"))
	rlDefault := string(readTestdata(t, "ratelimiting_default.json"))
	docsDefaultOps := []op{{"/health", 0}, {"/metrics", 0}}
	defaultOps := []op{{"op0", 0.2}, {"op6", 0}, {"op7", 1}}

	tests := []struct {
		name    string
		file    string // "" means no file: DefaultStrategies
		service string
		want    *api_v2.SamplingStrategyResponse
	}{
		{"no file: built-in default", "", "foo", prob(DefaultSamplingProbability)},
		{"empty file: built-in default", `{}`, "foo", prob(DefaultSamplingProbability)},
		{"default only", `{"default_strategy": {"type": "probabilistic", "param": 0.5}}`, "foo", prob(0.5)},
		{"default only, rate limiting", `{"default_strategy": {"type": "ratelimiting", "param": 20}}`, "foo", rateLimit(20)},
		{"services only: others get the built-in default",
			`{"service_strategies": [{"service": "a", "type": "ratelimiting", "param": 2}]}`, "b", prob(DefaultSamplingProbability)},
		{"services only: no default operations to merge",
			`{"service_strategies": [{"service": "a", "type": "ratelimiting", "param": 2}]}`, "a", rateLimit(2)},
		{"service names are case-sensitive", docs, "Foo", withOps(prob(0.5), 0.5, docsDefaultOps...)},
		{"empty service name gets the default", docs, "", withOps(prob(0.5), 0.5, docsDefaultOps...)},

		// Jaeger's documentation example.
		{"per-service and per-operation, default operations appended", docs, "foo",
			withOps(prob(0.8), 0.8, op{"op1", 0.2}, op{"op2", 0.4}, op{"/health", 0}, op{"/metrics", 0})},
		{"rate-limiting service gets default operations with the default's probability", docs, "bar",
			withOps(rateLimit(5), 0.5, docsDefaultOps...)},
		{"unknown service gets the default with its operations", docs, "nope", withOps(prob(0.5), 0.5, docsDefaultOps...)},

		// The cases of Jaeger's TestPerOperationSamplingStrategies, without
		// its rate-limiting operation entries (which Jaeger drops and we
		// refuse); the expected answers are Jaeger's.
		{"own operations win over default ones of the same name", ops, "foo",
			withOps(prob(0.8), 0.8, op{"op6", 0.5}, op{"op1", 0.2}, op{"op0", 0.2}, op{"op7", 1})},
		{"rate-limiting service with operations: built-in default probability", ops, "bar",
			withOps(rateLimit(5), DefaultSamplingProbability, op{"op3", 0.3}, op{"op5", 0.4}, op{"op0", 0.2}, op{"op6", 0}, op{"op7", 1})},
		{"probabilistic service without operations: default operations, own probability", ops, "baz",
			withOps(prob(0.25), 0.25, defaultOps...)},
		{"rate-limiting service without operations: default operations and probability", ops, "qux",
			withOps(rateLimit(3), 0.5, defaultOps...)},
		{"default strategy with operations", ops, "other", withOps(prob(0.5), 0.5, defaultOps...)},

		{"rate-limiting default with operations: built-in default probability", rlDefault, "other",
			withOps(rateLimit(100), DefaultSamplingProbability, op{"checkout", 1})},
		{"rate-limiting service under rate-limiting default", rlDefault, "web",
			withOps(rateLimit(7), DefaultSamplingProbability, op{"checkout", 1})},
		{"probabilistic service under rate-limiting default", rlDefault, "api",
			withOps(prob(0.1), 0.1, op{"checkout", 1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := DefaultStrategies()
			if tt.file != "" {
				s = mustParse(t, tt.file)
			}
			got := s.Strategy(tt.service)
			if !reflect.DeepEqual(got, tt.want) {
				g, _ := encodeJSON(got, false)
				w, _ := encodeJSON(tt.want, false)
				t.Fatalf("Strategy(%q)\n got %s\nwant %s", tt.service, g, w)
			}
			if err := checkResponse(got); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Jaeger's fixtures TestServiceNoPerOperationStrategies_Service{A,B}.json
// are encoding/json renderings of api_v2 responses for the file below
// (internal/sampling/samplingstrategy/file); ServiceB's is the behaviour
// after Jaeger's fix of issue 5270, which made default operation
// strategies apply to rate-limiting services too.
func TestJaegerServiceNoPerOperationSnapshots(t *testing.T) {
	s := mustParse(t, `{
		"service_strategies": [
			{"service": "ServiceA", "type": "probabilistic", "param": 1.0},
			{"service": "ServiceB", "type": "ratelimiting", "param": 3}
		],
		"default_strategy": {"type": "probabilistic", "param": 0.2,
			"operation_strategies": [{"operation": "/health", "type": "probabilistic", "param": 0.1}]}
	}`)
	snapshots := map[string]string{
		"ServiceA": `{"probabilisticSampling": {"samplingRate": 1},
			"operationSampling": {"defaultSamplingProbability": 1,
				"perOperationStrategies": [{"operation": "/health", "probabilisticSampling": {"samplingRate": 0.1}}]}}`,
		"ServiceB": `{"strategyType": 1, "rateLimitingSampling": {"maxTracesPerSecond": 3},
			"operationSampling": {"defaultSamplingProbability": 0.2,
				"perOperationStrategies": [{"operation": "/health", "probabilisticSampling": {"samplingRate": 0.1}}]}}`,
	}
	for service, want := range snapshots {
		got, err := json.Marshal(s.Strategy(service))
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal([]byte(want), &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s:\n got %s\nwant %s", service, got, want)
		}
	}
}

func TestStrategyIsACopy(t *testing.T) {
	s := mustParse(t, string(readTestdata(t, "strategies.json")))
	r := s.Strategy("foo")
	r.ProbabilisticSampling.SamplingRate = 1
	r.OperationSampling.PerOperationStrategies[0].ProbabilisticSampling.SamplingRate = 1
	r.OperationSampling.PerOperationStrategies = nil
	again := s.Strategy("foo")
	if again.ProbabilisticSampling.SamplingRate != 0.8 || len(again.OperationSampling.PerOperationStrategies) != 4 ||
		again.OperationSampling.PerOperationStrategies[0].ProbabilisticSampling.SamplingRate != 0.2 {
		t.Fatalf("modifying a returned strategy changed the stored one: %v", again)
	}
	// Default operations merged into services must not share memory with
	// the default strategy either.
	if d := s.Strategy("other"); d.OperationSampling.PerOperationStrategies[0].ProbabilisticSampling.SamplingRate != 0 {
		t.Fatalf("default strategy changed: %v", d)
	}
}

func TestParseStrategiesErrors(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // substrings of the error, all required
	}{
		{"empty", ``, []string{"one JSON object"}},
		{"null", `null`, []string{"one JSON object"}},
		{"array", `[]`, []string{"one JSON object"}},
		{"not JSON", `{"service_strategies": [`, []string{"decode strategies JSON"}},
		{"trailing data", `{} {}`, []string{"unexpected data after the top-level object"}},
		{"unknown top-level field", `{"default_strategy": {"type": "probabilistic", "param": 0.5}, "service_strategy": []}`,
			[]string{`unknown field "service_strategy"`}},
		{"unknown entry field", `{"service_strategies": [{"service": "a", "type": "probabilistic", "param": 0.5, "operation_strategy": []}]}`,
			[]string{`unknown field "operation_strategy"`}},
		{"param as string", `{"default_strategy": {"type": "probabilistic", "param": "0.5"}}`, []string{"decode strategies JSON"}},
		{"probability above 1", `{"service_strategies": [{"service": "a", "type": "probabilistic", "param": 1.5}]}`,
			[]string{`service_strategies[0] (service "a"): param 1.5 is not a sampling probability between 0 and 1`}},
		{"negative probability", `{"default_strategy": {"type": "probabilistic", "param": -0.1}}`,
			[]string{`default_strategy: param -0.1 is not a sampling probability between 0 and 1`}},
		{"negative rate", `{"service_strategies": [{"service": "a", "type": "ratelimiting", "param": -1}]}`,
			[]string{`service_strategies[0] (service "a"): param -1 is not a number of traces per second between 0 and 32767`}},
		{"rate too large for the legacy endpoint", `{"service_strategies": [{"service": "a", "type": "ratelimiting", "param": 40000}]}`,
			[]string{`param 40000 is not a number of traces per second between 0 and 32767`}},
		{"fractional rate", `{"service_strategies": [{"service": "a", "type": "ratelimiting", "param": 2.5}]}`,
			[]string{`service_strategies[0] (service "a"): param 2.5 is not a whole number of traces per second`}},
		{"unknown type", `{"service_strategies": [{"service": "a", "type": "probablistic", "param": 0.5}]}`,
			[]string{`service_strategies[0] (service "a"): type "probablistic" is not supported; use "probabilistic" or "ratelimiting"`}},
		{"missing type", `{"default_strategy": {"param": 0.5}}`, []string{`default_strategy: type is missing`}},
		{"missing param", `{"service_strategies": [{"service": "a", "type": "probabilistic"}]}`,
			[]string{`service_strategies[0] (service "a"): param is missing`}},
		{"empty service", `{"service_strategies": [{"type": "probabilistic", "param": 0.5}]}`,
			[]string{`service_strategies[0]: service is missing or empty`}},
		{"duplicate service", `{"service_strategies": [{"service": "a", "type": "probabilistic", "param": 0.5}, {"service": "a", "type": "ratelimiting", "param": 1}]}`,
			[]string{`service_strategies[1] (service "a"): service is already defined by service_strategies[0]`}},
		{"null service entry", `{"service_strategies": [null]}`, []string{`service_strategies[0] is null`}},
		{"rate-limiting operation", `{"service_strategies": [{"service": "a", "type": "probabilistic", "param": 0.5,
			"operation_strategies": [{"operation": "op", "type": "ratelimiting", "param": 10}]}]}`,
			[]string{`service_strategies[0] (service "a"): operation_strategies[0] (operation "op"): type "ratelimiting" is not supported for operations`}},
		{"operation probability", `{"default_strategy": {"type": "probabilistic", "param": 0.5,
			"operation_strategies": [{"operation": "op", "type": "probabilistic", "param": 2}]}}`,
			[]string{`default_strategy: operation_strategies[0] (operation "op"): param 2 is not a sampling probability`}},
		{"operation without name", `{"default_strategy": {"type": "probabilistic", "param": 0.5,
			"operation_strategies": [{"type": "probabilistic", "param": 0.1}]}}`,
			[]string{`default_strategy: operation_strategies[0]: operation is missing or empty`}},
		{"duplicate operation", `{"default_strategy": {"type": "probabilistic", "param": 0.5,
			"operation_strategies": [{"operation": "x", "type": "probabilistic", "param": 0.1}, {"operation": "x", "type": "probabilistic", "param": 0.2}]}}`,
			[]string{`default_strategy: operation_strategies[1] (operation "x"): operation is already defined by operation_strategies[0]`}},
		{"null operation", `{"default_strategy": {"type": "probabilistic", "param": 0.5, "operation_strategies": [null]}}`,
			[]string{`default_strategy: operation_strategies[0] is null`}},
		{"every problem is reported", `{"default_strategy": {"type": "probabilistic", "param": 7},
			"service_strategies": [{"service": "a", "type": "x", "param": 0.5}, {"service": "b", "type": "ratelimiting", "param": -3}]}`,
			[]string{`default_strategy: param 7`, `service_strategies[0] (service "a"): type "x"`, `service_strategies[1] (service "b"): param -3`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ParseStrategies([]byte(tt.file))
			if err == nil {
				t.Fatalf("ParseStrategies succeeded: %+v", s)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q\ndoes not contain %q", err, w)
				}
			}
		})
	}
}

// Whole numbers written as floats, zero rates and probabilities at the
// bounds are valid.
func TestParseStrategiesBounds(t *testing.T) {
	s := mustParse(t, `{
		"default_strategy": {"type": "probabilistic", "param": 1},
		"service_strategies": [
			{"service": "zero", "type": "probabilistic", "param": 0},
			{"service": "none", "type": "ratelimiting", "param": 0},
			{"service": "float", "type": "ratelimiting", "param": 5.0},
			{"service": "max", "type": "ratelimiting", "param": 32767},
			{"service": "ignored-service-field-on-default", "type": "probabilistic", "param": 1e-9}
		]}`)
	for service, want := range map[string]*api_v2.SamplingStrategyResponse{
		"zero": prob(0), "none": rateLimit(0), "float": rateLimit(5), "max": rateLimit(32767), "x": prob(1),
	} {
		if got := s.Strategy(service); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %v, want %v", service, got, want)
		}
	}
}

func TestRateLimitedWithOperations(t *testing.T) {
	for file, want := range map[string][]string{
		"strategies.json":           {"bar"},
		"operations.json":           {"bar", "qux"},
		"ratelimiting_default.json": {"", "web"},
		"escaping.json":             nil,
	} {
		if got := mustParse(t, string(readTestdata(t, file))).rateLimitedWithOperations(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
}
