package sampling

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
)

// DefaultSamplingProbability is what every service is told when no
// strategies file is configured, or the file has no default_strategy:
// Jaeger's built-in default, probabilistic sampling of 0.1% of traces.
const DefaultSamplingProbability = 0.001

// maxRateLimit is the largest max-traces-per-second a strategy may ask
// for. api_v2 carries an int32, but the legacy endpoint's Thrift type is an
// i16 and Jaeger answers 500 there above it; refusing such a file when it
// is loaded is kinder than failing every poll of an old SDK.
const maxRateLimit = math.MaxInt16

// The strategy types of the file format.
const (
	typeProbabilistic = "probabilistic"
	typeRateLimiting  = "ratelimiting"
)

// fileStrategies is the JSON document of Jaeger's
// --sampling.strategies-file. Pointers tell a missing value from a zero
// one, and nil entries of a list from empty ones.
type fileStrategies struct {
	DefaultStrategy   *fileStrategy   `json:"default_strategy"`
	ServiceStrategies []*fileStrategy `json:"service_strategies"`
}

// fileStrategy is one entry of service_strategies, or the default_strategy
// (whose service, if any, Jaeger ignores, and so do we).
type fileStrategy struct {
	Service             string           `json:"service"`
	Type                string           `json:"type"`
	Param               *float64         `json:"param"`
	OperationStrategies []*fileOperation `json:"operation_strategies"`
}

// fileOperation is one entry of operation_strategies.
type fileOperation struct {
	Operation string   `json:"operation"`
	Type      string   `json:"type"`
	Param     *float64 `json:"param"`
}

// Strategies is a validated strategies file, resolved into the response
// for every service it names and the response for every other service. It
// is immutable, so a Provider can swap whole values atomically.
type Strategies struct {
	def      *api_v2.SamplingStrategyResponse
	services map[string]*api_v2.SamplingStrategyResponse
}

// DefaultStrategies returns the strategies served when no file is
// configured: probabilistic sampling at DefaultSamplingProbability for
// every service, as Jaeger does.
func DefaultStrategies() *Strategies {
	return &Strategies{def: probabilistic(DefaultSamplingProbability), services: map[string]*api_v2.SamplingStrategyResponse{}}
}

// Strategy returns the response for service: its own strategy if the file
// names it, else the default strategy. The result is a copy the caller may
// modify.
func (s *Strategies) Strategy(service string) *api_v2.SamplingStrategyResponse {
	return cloneResponse(s.lookup(service))
}

// lookup is Strategy without the copy, for callers that only read.
func (s *Strategies) lookup(service string) *api_v2.SamplingStrategyResponse {
	if r, ok := s.services[service]; ok {
		return r
	}
	return s.def
}

// ParseStrategies parses a strategies file in the format of Jaeger's
// --sampling.strategies-file, validates every entry, and resolves it with
// Jaeger's rules:
//
//   - A service's own strategy wins over default_strategy; services the
//     file does not name get default_strategy, or probabilistic
//     DefaultSamplingProbability when there is none.
//   - An entry with operation_strategies answers with operationSampling
//     whose defaultSamplingProbability is the entry's own probability, or
//     DefaultSamplingProbability when the entry is rate limiting.
//   - When default_strategy has operation_strategies, every service gets
//     them too: a service without its own gets a copy of the default's
//     operationSampling (with its own probability as the default
//     probability when it is probabilistic); a service with its own gets
//     the default's operations appended after its own, except those it
//     names itself.
//
// It is stricter than Jaeger where Jaeger would silently serve something
// other than what the file says: unknown fields, unknown or missing types,
// missing params, probabilities outside [0, 1], rates that are negative,
// fractional or above 32767, rate-limiting operation strategies (Jaeger
// drops them), empty or duplicate service and operation names, and null
// entries are errors, each naming its entry. All problems are reported
// together.
func ParseStrategies(data []byte) (*Strategies, error) {
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, errors.New("a strategies file must hold one JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f fileStrategies
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("decode strategies JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("decode strategies JSON: unexpected data after the top-level object")
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return f.resolve(), nil
}

func (f *fileStrategies) validate() error {
	var errs []error
	if f.DefaultStrategy != nil {
		errs = append(errs, f.DefaultStrategy.validate("default_strategy")...)
	}
	seen := make(map[string]int, len(f.ServiceStrategies))
	for i, s := range f.ServiceStrategies {
		if s == nil {
			errs = append(errs, fmt.Errorf("service_strategies[%d] is null", i))
			continue
		}
		entry := fmt.Sprintf("service_strategies[%d] (service %q)", i, s.Service)
		switch first, dup := seen[s.Service]; {
		case s.Service == "":
			errs = append(errs, fmt.Errorf("service_strategies[%d]: service is missing or empty", i))
		case dup:
			errs = append(errs, fmt.Errorf("%s: service is already defined by service_strategies[%d]", entry, first))
		default:
			seen[s.Service] = i
		}
		errs = append(errs, s.validate(entry)...)
	}
	return errors.Join(errs...)
}

func (s *fileStrategy) validate(entry string) []error {
	var errs []error
	if err := validateParam(s.Type, s.Param); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", entry, err))
	}
	seen := make(map[string]int, len(s.OperationStrategies))
	for i, op := range s.OperationStrategies {
		if op == nil {
			errs = append(errs, fmt.Errorf("%s: operation_strategies[%d] is null", entry, i))
			continue
		}
		opEntry := fmt.Sprintf("%s: operation_strategies[%d] (operation %q)", entry, i, op.Operation)
		switch first, dup := seen[op.Operation]; {
		case op.Operation == "":
			errs = append(errs, fmt.Errorf("%s: operation_strategies[%d]: operation is missing or empty", entry, i))
		case dup:
			errs = append(errs, fmt.Errorf("%s: operation is already defined by operation_strategies[%d]", opEntry, first))
		default:
			seen[op.Operation] = i
		}
		if op.Type == typeRateLimiting {
			// Jaeger logs a warning and drops the entry, so the operation
			// silently falls back to the service's default probability.
			errs = append(errs, fmt.Errorf("%s: type %q is not supported for operations; only %q is (Jaeger would ignore this entry)", opEntry, op.Type, typeProbabilistic))
			continue
		}
		if err := validateParam(op.Type, op.Param); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", opEntry, err))
		}
	}
	return errs
}

func validateParam(typ string, param *float64) error {
	switch typ {
	case typeProbabilistic, typeRateLimiting:
	case "":
		return fmt.Errorf("type is missing; use %q or %q", typeProbabilistic, typeRateLimiting)
	default:
		return fmt.Errorf("type %q is not supported; use %q or %q", typ, typeProbabilistic, typeRateLimiting)
	}
	if param == nil {
		return fmt.Errorf("param is missing (a %s)", paramMeaning(typ))
	}
	p := *param
	switch typ {
	case typeProbabilistic:
		if !(p >= 0 && p <= 1) {
			return fmt.Errorf("param %v is not a sampling probability between 0 and 1", p)
		}
	case typeRateLimiting:
		if !(p >= 0 && p <= maxRateLimit) {
			return fmt.Errorf("param %v is not a number of traces per second between 0 and %d", p, maxRateLimit)
		}
		if p != math.Trunc(p) {
			// The protocol carries an integer; Jaeger would truncate.
			return fmt.Errorf("param %v is not a whole number of traces per second", p)
		}
	}
	return nil
}

func paramMeaning(typ string) string {
	if typ == typeProbabilistic {
		return "sampling probability between 0 and 1"
	}
	return "number of traces per second"
}

// resolve turns a validated file into responses, following Jaeger's
// samplingstrategy/file provider (parseStrategies).
func (f *fileStrategies) resolve() *Strategies {
	s := &Strategies{def: probabilistic(DefaultSamplingProbability), services: make(map[string]*api_v2.SamplingStrategyResponse, len(f.ServiceStrategies))}
	if f.DefaultStrategy != nil {
		s.def = f.DefaultStrategy.response()
	}
	defOps := s.def.OperationSampling
	for _, fs := range f.ServiceStrategies {
		r := fs.response()
		switch {
		case defOps == nil:
		case r.OperationSampling == nil:
			ops := cloneOperations(defOps)
			if r.ProbabilisticSampling != nil {
				ops.DefaultSamplingProbability = r.ProbabilisticSampling.SamplingRate
			}
			r.OperationSampling = ops
		default:
			r.OperationSampling.PerOperationStrategies = mergeOperations(r.OperationSampling.PerOperationStrategies, defOps.PerOperationStrategies)
		}
		s.services[fs.Service] = r
	}
	return s
}

// response is the answer for one validated entry on its own, before
// default operation strategies are merged in.
func (s *fileStrategy) response() *api_v2.SamplingStrategyResponse {
	var r *api_v2.SamplingStrategyResponse
	defProbability := DefaultSamplingProbability
	if s.Type == typeProbabilistic {
		r = probabilistic(*s.Param)
		defProbability = *s.Param
	} else {
		r = &api_v2.SamplingStrategyResponse{
			StrategyType:         api_v2.SamplingStrategyType_RATE_LIMITING,
			RateLimitingSampling: &api_v2.RateLimitingSamplingStrategy{MaxTracesPerSecond: int32(*s.Param)},
		}
	}
	if len(s.OperationStrategies) == 0 {
		return r
	}
	ops := &api_v2.PerOperationSamplingStrategies{DefaultSamplingProbability: defProbability}
	for _, op := range s.OperationStrategies {
		ops.PerOperationStrategies = append(ops.PerOperationStrategies, &api_v2.OperationSamplingStrategy{
			Operation:             op.Operation,
			ProbabilisticSampling: &api_v2.ProbabilisticSamplingStrategy{SamplingRate: *op.Param},
		})
	}
	r.OperationSampling = ops
	return r
}

// mergeOperations returns own followed by the operations of defaults that
// own does not name: a service's own operation strategies win.
func mergeOperations(own, defaults []*api_v2.OperationSamplingStrategy) []*api_v2.OperationSamplingStrategy {
	named := make(map[string]bool, len(own))
	for _, op := range own {
		named[op.Operation] = true
	}
	merged := own
	for _, op := range defaults {
		if !named[op.Operation] {
			merged = append(merged, cloneOperation(op))
		}
	}
	return merged
}

func probabilistic(rate float64) *api_v2.SamplingStrategyResponse {
	return &api_v2.SamplingStrategyResponse{
		StrategyType:          api_v2.SamplingStrategyType_PROBABILISTIC,
		ProbabilisticSampling: &api_v2.ProbabilisticSamplingStrategy{SamplingRate: rate},
	}
}

func cloneResponse(r *api_v2.SamplingStrategyResponse) *api_v2.SamplingStrategyResponse {
	c := &api_v2.SamplingStrategyResponse{StrategyType: r.StrategyType}
	if p := r.ProbabilisticSampling; p != nil {
		c.ProbabilisticSampling = &api_v2.ProbabilisticSamplingStrategy{SamplingRate: p.SamplingRate}
	}
	if rl := r.RateLimitingSampling; rl != nil {
		c.RateLimitingSampling = &api_v2.RateLimitingSamplingStrategy{MaxTracesPerSecond: rl.MaxTracesPerSecond}
	}
	if ops := r.OperationSampling; ops != nil {
		c.OperationSampling = cloneOperations(ops)
	}
	return c
}

func cloneOperations(ops *api_v2.PerOperationSamplingStrategies) *api_v2.PerOperationSamplingStrategies {
	c := &api_v2.PerOperationSamplingStrategies{
		DefaultSamplingProbability:       ops.DefaultSamplingProbability,
		DefaultLowerBoundTracesPerSecond: ops.DefaultLowerBoundTracesPerSecond,
		DefaultUpperBoundTracesPerSecond: ops.DefaultUpperBoundTracesPerSecond,
	}
	if ops.PerOperationStrategies != nil {
		c.PerOperationStrategies = make([]*api_v2.OperationSamplingStrategy, len(ops.PerOperationStrategies))
		for i, op := range ops.PerOperationStrategies {
			c.PerOperationStrategies[i] = cloneOperation(op)
		}
	}
	return c
}

func cloneOperation(op *api_v2.OperationSamplingStrategy) *api_v2.OperationSamplingStrategy {
	c := &api_v2.OperationSamplingStrategy{Operation: op.Operation}
	if p := op.ProbabilisticSampling; p != nil {
		c.ProbabilisticSampling = &api_v2.ProbabilisticSamplingStrategy{SamplingRate: p.SamplingRate}
	}
	return c
}

// rateLimitedWithOperations names the rate-limiting strategies that also
// carry operation strategies ("" for the default strategy), sorted. SDKs
// that sample per operation (jaeger-client-go, OpenTelemetry's
// jaegerremote) prefer operationSampling when present, so for them the
// rate limit is not applied. Jaeger answers this way too (since its
// issue 5270), so we do; we only say so.
func (s *Strategies) rateLimitedWithOperations() []string {
	var names []string
	if s.def.RateLimitingSampling != nil && s.def.OperationSampling != nil {
		names = append(names, "")
	}
	for service, r := range s.services {
		if r.RateLimitingSampling != nil && r.OperationSampling != nil {
			names = append(names, service)
		}
	}
	slices.Sort(names)
	return names
}
