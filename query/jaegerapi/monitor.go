package jaegerapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/httpquery"
)

// The dependency graph (the UI's System Architecture tab) and the service
// performance monitoring API (the Monitor tab): Jaeger's dependencies,
// latencies, calls, errors and minStep handlers in http_handler.go, with
// the parameters of parseDependenciesQueryParams and
// parseMetricsQueryParams (query_parser.go) and the defaults of
// default_params.go.

// Parameter names of the dependencies and metrics APIs.
const (
	paramEndTs            = "endTs"
	paramStep             = "step"
	paramRatePer          = "ratePer"
	paramQuantile         = "quantile"
	paramGroupByOperation = "groupByOperation"
)

// Defaults of the dependencies and metrics APIs (Jaeger's
// default_params.go), where tracelake can follow them.
const (
	// DefaultDependenciesLookback is how far before endTs the dependency
	// graph looks when lookback is absent.
	DefaultDependenciesLookback = 24 * time.Hour
	// DefaultMetricsLookback is how far before endTs metrics look.
	DefaultMetricsLookback = time.Hour
	// DefaultRatePer is the time each metric point summarises.
	DefaultRatePer = 10 * time.Minute
	// DefaultStep is the time between metric points: Jaeger's default of
	// 5 s is below what tracelake resolves, so it is the minimum step.
	DefaultStep = query.MetricsStep
)

// maxMillis is the largest time or duration in ms whose nanosecond form
// fits an int64.
const maxMillis = math.MaxInt64 / int64(time.Millisecond)

// uiDependencyLink is Jaeger's ui.DependencyLink.
type uiDependencyLink struct {
	Parent    string `json:"parent"`
	Child     string `json:"child"`
	CallCount uint64 `json:"callCount"`
}

// v1Dependencies serves GET /api/dependencies?endTs=&lookback=&service=:
// the calls between services in [endTs-lookback, endTs] (ms; endTs
// defaults to now, lookback to a day), as Jaeger's classic envelope.
// With service, only the links from or to it. Unlike Jaeger, negative
// times and lookbacks are refused.
func (a *API) v1Dependencies(w http.ResponseWriter, r *http.Request) {
	t, err := a.tenants.Of(r)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	v := r.URL.Query()
	tr, err := a.parseDependencies(v)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	links, err := a.q.Dependencies(r.Context(), t, tr)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	service := v.Get(paramService)
	data := make([]uiDependencyLink, 0, len(links))
	for _, l := range links {
		if service == "" || l.Parent == service || l.Child == service {
			data = append(data, uiDependencyLink{Parent: l.Parent, Child: l.Child, CallCount: l.CallCount})
		}
	}
	// Jaeger leaves total at 0 for dependencies.
	a.v1OK(w, r, data, 0, nil)
}

// parseDependencies parses the dependency graph's window.
func (a *API) parseDependencies(v url.Values) (query.TimeRange, error) {
	end, err := a.parseEndTs(v)
	if err != nil {
		return query.TimeRange{}, err
	}
	lookback, err := parseMillis(v, paramLookback, DefaultDependenciesLookback)
	if err != nil {
		return query.TimeRange{}, err
	}
	start := end.Add(-lookback)
	if epoch := time.Unix(0, 0).UTC(); start.Before(epoch) {
		start = epoch
	}
	// endTs is inclusive at the millisecond; TimeRange.End is not.
	return query.TimeRange{Start: start, End: end.Add(time.Millisecond)}, nil
}

// parseEndTs parses endTs (ms since the epoch), now by default.
func (a *API) parseEndTs(v url.Values) (time.Time, error) {
	s := v.Get(paramEndTs)
	if s == "" {
		return a.opts.Now().UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n >= maxMillis {
		return time.Time{}, httpquery.BadParam(paramEndTs, s, "must be a time in milliseconds since the Unix epoch")
	}
	return time.UnixMilli(n).UTC(), nil
}

// parseMillis parses a positive duration in ms, def when absent.
func parseMillis(v url.Values, name string, def time.Duration) (time.Duration, error) {
	s := v.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 || n >= maxMillis {
		return 0, httpquery.BadParam(name, s, "must be a positive number of milliseconds")
	}
	return time.Duration(n) * time.Millisecond, nil
}

// The Monitor tab's metric families: Jaeger's names and help texts
// (metricstore/prometheus/metricstore/reader.go), with "service" becoming
// "service_operation" when grouped by operation.
var metricFamilies = map[query.Metric]struct{ name, help string }{
	query.MetricCalls:     {"service_call_rate", "calls/sec, grouped by service"},
	query.MetricErrors:    {"service_error_rate", "error rate, computed as a fraction of errors/sec over calls/sec, grouped by service"},
	query.MetricLatencies: {"service_latencies", "%.2fth quantile latency, grouped by service"},
}

func (a *API) metricCalls(w http.ResponseWriter, r *http.Request) {
	a.metrics(w, r, query.MetricCalls)
}

func (a *API) metricErrors(w http.ResponseWriter, r *http.Request) {
	a.metrics(w, r, query.MetricErrors)
}

func (a *API) metricLatencies(w http.ResponseWriter, r *http.Request) {
	a.metrics(w, r, query.MetricLatencies)
}

// metrics serves GET /api/metrics/{calls,errors,latencies}: a
// MetricFamily as Jaeger's JSON (the protobuf's JSON mapping, NaN as the
// string "NaN"), outside the classic envelope, as Jaeger answers.
func (a *API) metrics(w http.ResponseWriter, r *http.Request, m query.Metric) {
	t, err := a.tenants.Of(r)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	q, err := a.parseMetrics(r.URL.Query(), m)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	fam, err := a.q.Metrics(r.Context(), t, q)
	if err != nil {
		a.v1Fail(w, r, err)
		return
	}
	a.writeJSON(w, r, http.StatusOK, toMetricFamily(q, fam), prettyPrint(r))
}

// v1MinStep serves GET /api/metrics/minstep: the finest step, in ms, in
// the classic envelope as Jaeger answers.
func (a *API) v1MinStep(w http.ResponseWriter, r *http.Request) {
	if _, err := a.tenants.Of(r); err != nil {
		a.v1Fail(w, r, err)
		return
	}
	a.v1OK(w, r, query.MetricsStep.Milliseconds(), 0, nil)
}

// parseMetrics parses a metrics request the way Jaeger's
// parseMetricsQueryParams does: service (at least one, repeatable),
// groupByOperation, spanKind (repeatable, default server), endTs (ms,
// default now), lookback, step and ratePer (ms; defaults one hour, a
// minute, ten minutes), and quantile for latencies. Differences: step and
// ratePer are rounded up to whole minutes (/api/metrics/minstep); empty
// service names, times and durations that are not positive, quantiles
// outside (0, 1] and more than query.MaxMetricPoints points are refused;
// spanKind may also be given as OTLP's SPAN_KIND_SERVER, in any case.
func (a *API) parseMetrics(v url.Values, m query.Metric) (query.MetricsQuery, error) {
	q := query.MetricsQuery{Metric: m}
	services, ok := v[paramService]
	if !ok {
		return q, httpquery.MissingParam(paramService)
	}
	for _, s := range services {
		if s == "" {
			return q, httpquery.BadParam(paramService, s, "must be a service name")
		}
		if !slices.Contains(q.Services, s) {
			q.Services = append(q.Services, s)
		}
	}
	var err error
	if q.GroupByOperation, _, err = parseBool(v, paramGroupByOperation); err != nil {
		return q, err
	}
	if q.SpanKinds, err = parseMetricSpanKinds(v[paramSpanKind]); err != nil {
		return q, err
	}
	if q.End, err = a.parseEndTs(v); err != nil {
		return q, err
	}
	if q.Lookback, err = parseMillis(v, paramLookback, DefaultMetricsLookback); err != nil {
		return q, err
	}
	if q.Step, err = parseMillis(v, paramStep, DefaultStep); err != nil {
		return q, err
	}
	if q.RatePer, err = parseMillis(v, paramRatePer, DefaultRatePer); err != nil {
		return q, err
	}
	q.Step, q.RatePer = roundUpStep(q.Step), roundUpStep(q.RatePer)
	if n := q.Lookback / q.Step; n >= query.MaxMetricPoints {
		return q, httpquery.ParamErrorf("invalid parameters: %q (%s) and %q (%s) ask for %d points a series, at most %d are allowed", paramLookback, v.Get(paramLookback), paramStep, v.Get(paramStep), n+1, query.MaxMetricPoints)
	}
	if q.End.Add(-q.Lookback - q.RatePer).Before(time.Unix(0, 0)) {
		return q, httpquery.ParamErrorf("invalid parameters: %q, %q and %q reach before the Unix epoch", paramEndTs, paramLookback, paramRatePer)
	}
	if m == query.MetricLatencies {
		s := v.Get(paramQuantile)
		if s == "" {
			return q, httpquery.MissingParam(paramQuantile)
		}
		if q.Quantile, err = strconv.ParseFloat(s, 64); err != nil || !(q.Quantile > 0 && q.Quantile <= 1) {
			return q, httpquery.BadParam(paramQuantile, s, "must be a number in (0, 1], such as 0.95")
		}
	}
	return q, nil
}

// roundUpStep rounds d up to whole query.MetricsSteps.
func roundUpStep(d time.Duration) time.Duration {
	if rem := d % query.MetricsStep; rem != 0 {
		d += query.MetricsStep - rem
	}
	return d
}

// parseMetricSpanKinds parses spanKind values: Jaeger's names
// (unspecified, internal, server, client, producer, consumer) or OTLP's
// (SPAN_KIND_SERVER, …), in any case. None means server, as in Jaeger.
func parseMetricSpanKinds(values []string) ([]string, error) {
	if len(values) == 0 {
		return []string{"server"}, nil
	}
	var kinds []string
	for _, s := range values {
		name := strings.TrimPrefix(strings.ToLower(s), "span_kind_")
		switch name {
		case "unspecified":
			name = ""
		case "internal", "server", "client", "producer", "consumer":
		default:
			return nil, httpquery.BadParam(paramSpanKind, s, "must be one of unspecified, internal, server, client, producer, consumer")
		}
		if !slices.Contains(kinds, name) {
			kinds = append(kinds, name)
		}
	}
	return kinds, nil
}

// The JSON of Jaeger's api_v2/metrics MetricFamily, as gogo's jsonpb
// writes it: lowerCamelCase names, the enum by name, the oneof value
// under its field name, Timestamp in RFC 3339, and zero values left out,
// except that metrics is always written (as [] when empty): the Monitor
// tab reads metrics[0] unguarded.
type metricFamilyJSON struct {
	Name    string       `json:"name"`
	Type    string       `json:"type"`
	Help    string       `json:"help"`
	Metrics []metricJSON `json:"metrics"`
}

type metricJSON struct {
	Labels       []labelJSON       `json:"labels"`
	MetricPoints []metricPointJSON `json:"metricPoints,omitempty"`
}

type labelJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type metricPointJSON struct {
	GaugeValue gaugeValueJSON `json:"gaugeValue"`
	Timestamp  timestampJSON  `json:"timestamp"`
}

type gaugeValueJSON struct {
	DoubleValue doubleJSON `json:"doubleValue"`
}

// doubleJSON is a double as protobuf's JSON mapping writes it: a number,
// or the strings "NaN", "Infinity" and "-Infinity".
type doubleJSON float64

func (d doubleJSON) MarshalJSON() ([]byte, error) {
	f := float64(d)
	switch {
	case math.IsNaN(f):
		return []byte(`"NaN"`), nil
	case math.IsInf(f, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(f, -1):
		return []byte(`"-Infinity"`), nil
	}
	return json.Marshal(f)
}

// timestampJSON is a google.protobuf.Timestamp in JSON: RFC 3339 in UTC,
// with 0, 3, 6 or 9 fractional digits.
type timestampJSON time.Time

func (t timestampJSON) MarshalJSON() ([]byte, error) {
	s := time.Time(t).UTC().Format("2006-01-02T15:04:05.000000000")
	s = strings.TrimSuffix(s, "000")
	s = strings.TrimSuffix(s, "000")
	s = strings.TrimSuffix(s, ".000")
	var b bytes.Buffer
	b.WriteByte('"')
	b.WriteString(s)
	b.WriteString(`Z"`)
	return b.Bytes(), nil
}

// toMetricFamily renders the Querier's answer as Jaeger's MetricFamily.
func toMetricFamily(q query.MetricsQuery, fam query.MetricFamily) metricFamilyJSON {
	f := metricFamilies[q.Metric]
	name, help := f.name, f.help
	if q.Metric == query.MetricLatencies {
		help = fmt.Sprintf(help, q.Quantile)
	}
	if q.GroupByOperation {
		name = strings.Replace(name, "service", "service_operation", 1)
		help += " & operation"
	}
	out := metricFamilyJSON{Name: name, Type: "GAUGE", Help: help, Metrics: make([]metricJSON, 0, len(fam.Series))}
	for _, s := range fam.Series {
		m := metricJSON{Labels: []labelJSON{{Name: "service_name", Value: s.Service}}}
		if q.GroupByOperation {
			m.Labels = append(m.Labels, labelJSON{Name: "operation", Value: s.Operation})
		}
		for _, p := range s.Points {
			m.MetricPoints = append(m.MetricPoints, metricPointJSON{GaugeValue: gaugeValueJSON{doubleJSON(p.Value)}, Timestamp: timestampJSON(p.Time)})
		}
		out.Metrics = append(out.Metrics, m)
	}
	return out
}
