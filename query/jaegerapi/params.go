package jaegerapi

import (
	"encoding/binary"
	"encoding/json"
	"maps"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	model "github.com/jaegertracing/jaeger-idl/model/v1"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/httpquery"
)

// Parameter names of the classic API (Jaeger's query_parser.go and
// http_handler.go).
const (
	paramService     = "service"
	paramOperation   = "operation"
	paramSpanKind    = "spanKind"
	paramTag         = "tag"
	paramTags        = "tags"
	paramStart       = "start"
	paramEnd         = "end"
	paramLookback    = "lookback"
	paramLimit       = "limit"
	paramMinDuration = "minDuration"
	paramMaxDuration = "maxDuration"
	paramTraceID     = "traceID"
	paramRaw         = "raw"
	// paramCursor continues a search (a tracelake extension): the value
	// is the nextCursor of the previous page.
	paramCursor = "cursor"
)

// Parameter names of api_v3: the canonical camelCase name first, then the
// snake_case aliases Jaeger still accepts (apiv3/query_parser.go). When
// several are given the first in this order wins, as in Jaeger.
var (
	v3ServiceName   = []string{"query.serviceName", "query.service_name"}
	v3OperationName = []string{"query.operationName", "query.operation_name"}
	v3Attributes    = []string{"query.attributes"}
	v3StartTimeMin  = []string{"query.startTimeMin", "query.start_time_min"}
	v3StartTimeMax  = []string{"query.startTimeMax", "query.start_time_max"}
	v3SearchDepth   = []string{"query.searchDepth", "query.search_depth", "query.num_traces"}
	v3Cursor        = []string{"query.cursor"}
	v3DurationMin   = []string{"query.durationMin", "query.duration_min"}
	v3DurationMax   = []string{"query.durationMax", "query.duration_max"}
	v3QueryRaw      = []string{"query.rawTraces", "query.raw_traces"}
	v3StartTime     = []string{"startTime", "start_time"}
	v3EndTime       = []string{"endTime", "end_time"}
	v3RawTraces     = []string{"rawTraces", "raw_traces"}
	v3SpanKind      = []string{"spanKind", "span_kind"}
)

// maxMicros is the largest µs timestamp whose nanosecond form, plus the
// 1µs that makes an end inclusive, still fits an int64 (year 2262):
// storage compares nanoseconds, so later times cannot be represented.
const maxMicros = math.MaxInt64/int64(time.Microsecond) - 1

var (
	minTime = time.Unix(0, math.MinInt64+1)
	maxTime = time.Unix(0, math.MaxInt64-1)
)

// v1SearchRequest is what GET /api/traces asks for.
type v1SearchRequest struct {
	// query is the search; unused when traceIDs is set.
	query query.TraceQuery
	// traceIDs, when set, asks for exactly these traces instead of a search.
	traceIDs []pcommon.TraceID
	// within narrows traceIDs lookups. Only explicit start/end set it: the
	// search defaults must not hide an old trace asked for by ID.
	within query.TimeRange
}

// parseV1Search parses the classic API's trace search, following Jaeger's
// parseTraceQueryParams (cmd/jaeger/internal/extension/jaegerquery/internal/
// query_parser.go) for names, defaults and validation, with these
// differences:
//
//   - service is optional: tracelake can search every service at once,
//     where Jaeger answers 400 "parameter 'service' is required".
//   - lookback ("1h", "2d", "custom") is honoured when start is absent;
//     Jaeger ignores it and always uses a 2-day server default. The window
//     then ends at end (default now), not at now.
//   - limit is capped at Options.MaxLimit; negative durations and
//     timestamps, and empty tag keys, are rejected.
func (a *API) parseV1Search(v url.Values) (v1SearchRequest, error) {
	var req v1SearchRequest

	start, hasStart, err := parseMicros(v, paramStart)
	if err != nil {
		return req, err
	}
	end, hasEnd, err := parseMicros(v, paramEnd)
	if err != nil {
		return req, err
	}
	if hasStart && hasEnd && start.After(end) {
		return req, httpquery.ParamErrorf("invalid parameters: %q (%s) is after %q (%s)", paramStart, v.Get(paramStart), paramEnd, v.Get(paramEnd))
	}
	if hasStart || hasEnd {
		req.within = inclusiveRange(start, end, hasStart, hasEnd, time.Microsecond)
	}
	if !hasEnd {
		end = a.opts.Now()
	}
	if !hasStart {
		lookback := DefaultLookback
		// The Jaeger UI sends lookback=custom together with start and end.
		if s := v.Get(paramLookback); s != "" && s != "custom" {
			if lookback, err = parseLookback(s); err != nil {
				return req, err
			}
		}
		start = end.Add(-lookback)
		if epoch := time.Unix(0, 0).UTC(); start.Before(epoch) {
			start = epoch
		}
	}
	if start.After(end) { // e.g. a start in the future and no end
		return req, httpquery.ParamErrorf("invalid parameters: %q (%s) is after %q (%d, now)", paramStart, v.Get(paramStart), paramEnd, end.UnixMicro())
	}

	attrs, err := parseTags(v[paramTag], v[paramTags])
	if err != nil {
		return req, err
	}
	limit, err := a.parseLimit(paramLimit, v.Get(paramLimit))
	if err != nil {
		return req, err
	}
	minDur, maxDur, err := parseDurations(v, []string{paramMinDuration}, []string{paramMaxDuration})
	if err != nil {
		return req, err
	}
	if _, _, err := parseBool(v, paramRaw); err != nil {
		return req, err
	}

	seen := make(map[pcommon.TraceID]bool)
	for _, s := range v[paramTraceID] {
		id, err := parseTraceID(paramTraceID, s)
		if err != nil {
			return req, err
		}
		if !seen[id] {
			seen[id] = true
			req.traceIDs = append(req.traceIDs, id)
		}
	}
	if len(req.traceIDs) > a.opts.MaxLimit {
		return req, httpquery.ParamErrorf("too many %q parameters: %d given, at most %d are allowed", paramTraceID, len(req.traceIDs), a.opts.MaxLimit)
	}

	req.query = query.TraceQuery{
		ServiceName:   v.Get(paramService),
		OperationName: v.Get(paramOperation),
		Attributes:    attrs,
		StartMin:      start,
		// Jaeger's end is inclusive; TraceQuery's StartMax is not.
		StartMax:    end.Add(time.Microsecond),
		DurationMin: minDur,
		DurationMax: maxDur,
		Limit:       limit,
		Cursor:      v.Get(paramCursor),
	}
	return req, nil
}

// parseV1TraceWindow parses the optional start and end (µs) and raw of
// GET /api/traces/{traceID}.
func parseV1TraceWindow(v url.Values) (query.TimeRange, error) {
	start, hasStart, err := parseMicros(v, paramStart)
	if err != nil {
		return query.TimeRange{}, err
	}
	end, hasEnd, err := parseMicros(v, paramEnd)
	if err != nil {
		return query.TimeRange{}, err
	}
	if hasStart && hasEnd && start.After(end) {
		return query.TimeRange{}, httpquery.ParamErrorf("invalid parameters: %q (%s) is after %q (%s)", paramStart, v.Get(paramStart), paramEnd, v.Get(paramEnd))
	}
	// raw asks Jaeger to skip its adjusters; tracelake has none to skip.
	if _, _, err := parseBool(v, paramRaw); err != nil {
		return query.TimeRange{}, err
	}
	return inclusiveRange(start, end, hasStart, hasEnd, time.Microsecond), nil
}

// parseV3Query parses api_v3's TraceQueryParameters, following Jaeger's
// apiv3 parseFindTracesQuery (apiv3/query_parser.go): start_time_min and
// start_time_max are required RFC 3339 times with min before max, the
// search depth defaults to 100, durations are Go durations. Beyond Jaeger,
// search depths below 1 and negative durations are rejected, min duration
// above max duration too, and depths above Options.MaxLimit are capped.
func (a *API) parseV3Query(v url.Values) (query.TraceQuery, error) {
	var q query.TraceQuery
	q.ServiceName, _ = getParam(v, v3ServiceName)
	q.OperationName, _ = getParam(v, v3OperationName)

	if s, name := getParam(v, v3Attributes); s != "" {
		attrs, err := parseAttributeJSON(name, s)
		if err != nil {
			return q, err
		}
		if len(attrs) > 0 {
			q.Attributes = attrs
		}
	}

	minStr, minName := getParam(v, v3StartTimeMin)
	maxStr, maxName := getParam(v, v3StartTimeMax)
	if minStr == "" || maxStr == "" {
		return q, httpquery.ParamErrorf("parameters %q and %q are required", v3StartTimeMin[0], v3StartTimeMax[0])
	}
	tmin, err := parseRFC3339(minName, minStr)
	if err != nil {
		return q, err
	}
	tmax, err := parseRFC3339(maxName, maxStr)
	if err != nil {
		return q, err
	}
	if !tmin.Before(tmax) {
		return q, httpquery.ParamErrorf("invalid parameters: %q (%s) must be before %q (%s)", minName, minStr, maxName, maxStr)
	}
	q.StartMin = tmin
	// Jaeger's backends treat start_time_max as inclusive; StartMax is not.
	q.StartMax = tmax.Add(time.Nanosecond)

	depth, depthName := getParam(v, v3SearchDepth)
	if q.Limit, err = a.parseLimit(depthName, depth); err != nil {
		return q, err
	}
	if q.DurationMin, q.DurationMax, err = parseDurations(v, v3DurationMin, v3DurationMax); err != nil {
		return q, err
	}
	q.Cursor, _ = getParam(v, v3Cursor)
	// rawTraces asks Jaeger to skip its adjusters; tracelake has none.
	if _, _, err := parseBool(v, v3QueryRaw...); err != nil {
		return q, err
	}
	return q, nil
}

// parseV3TraceWindow parses the optional startTime, endTime (RFC 3339) and
// rawTraces of GET /api/v3/traces/{traceID}.
func parseV3TraceWindow(v url.Values) (query.TimeRange, error) {
	var (
		start, end       time.Time
		hasStart, hasEnd bool
		err              error
	)
	if s, name := getParam(v, v3StartTime); s != "" {
		if start, err = parseRFC3339(name, s); err != nil {
			return query.TimeRange{}, err
		}
		hasStart = true
	}
	if s, name := getParam(v, v3EndTime); s != "" {
		if end, err = parseRFC3339(name, s); err != nil {
			return query.TimeRange{}, err
		}
		hasEnd = true
	}
	if hasStart && hasEnd && start.After(end) {
		return query.TimeRange{}, httpquery.ParamErrorf("invalid parameters: %q is after %q", v3StartTime[0], v3EndTime[0])
	}
	if _, _, err := parseBool(v, v3RawTraces...); err != nil {
		return query.TimeRange{}, err
	}
	return inclusiveRange(start, end, hasStart, hasEnd, time.Nanosecond), nil
}

// inclusiveRange turns an inclusive [start, end] given at some precision
// into the half-open TimeRange the Querier takes.
func inclusiveRange(start, end time.Time, hasStart, hasEnd bool, precision time.Duration) query.TimeRange {
	var tr query.TimeRange
	if hasStart {
		tr.Start = start
	}
	if hasEnd {
		tr.End = end.Add(precision)
	}
	return tr
}

// parseSpanKind validates a span kind filter: empty (any kind) or one of
// the names spanfile.KindName produces.
func parseSpanKind(name, s string) (string, error) {
	switch s {
	case "", "server", "client", "producer", "consumer", "internal":
		return s, nil
	}
	return "", httpquery.BadParam(name, s, "must be one of server, client, producer, consumer, internal")
}

// getParam returns the first non-empty value among names, and the name
// that carried it (the first name when none did).
func getParam(v url.Values, names []string) (value, name string) {
	for _, n := range names {
		if s := v.Get(n); s != "" {
			return s, n
		}
	}
	return "", names[0]
}

// parseTraceID parses a trace ID the way Jaeger does
// (model.TraceIDFromString): 1 to 32 hex digits, either case, left-padded
// with zeros to 128 bits, so a 64-bit Zipkin ID has zero high bits.
func parseTraceID(name, s string) (pcommon.TraceID, error) {
	if s == "" || len(s) > 32 {
		return pcommon.TraceID{}, httpquery.BadParam(name, s, "a trace ID is 1 to 32 hexadecimal characters")
	}
	mid, err := model.TraceIDFromString(s)
	if err != nil {
		return pcommon.TraceID{}, httpquery.BadParam(name, s, "a trace ID is 1 to 32 hexadecimal characters")
	}
	var id pcommon.TraceID
	binary.BigEndian.PutUint64(id[:8], mid.High)
	binary.BigEndian.PutUint64(id[8:], mid.Low)
	return id, nil
}

// parseMicros parses an optional timestamp in µs since the Unix epoch.
func parseMicros(v url.Values, name string) (t time.Time, ok bool, err error) {
	s := v.Get(name)
	if s == "" {
		return time.Time{}, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxMicros {
		return time.Time{}, false, httpquery.BadParam(name, s, "must be a time in microseconds since the Unix epoch")
	}
	return time.UnixMicro(n).UTC(), true, nil
}

// parseRFC3339 parses an RFC 3339 time (nanoseconds allowed) that storage
// can represent.
func parseRFC3339(name, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, httpquery.BadParam(name, s, "must be an RFC 3339 time such as 2024-05-01T12:00:00.123456789Z")
	}
	if t.Before(minTime) || t.After(maxTime) {
		return time.Time{}, httpquery.BadParam(name, s, "must be between the years 1678 and 2262")
	}
	return t.UTC(), nil
}

// parseLookback parses a search window length: a Go duration ("90m",
// "1h") or a whole number of days or weeks ("2d", "1w") as the Jaeger UI's
// lookback menu offers.
func parseLookback(s string) (time.Duration, error) {
	const reason = `must be a positive duration such as "1h", "2d" or "1w"`
	var d time.Duration
	switch unit := s[len(s)-1]; unit {
	case 'd', 'w':
		n, err := strconv.ParseInt(s[:len(s)-1], 10, 64)
		per := 24 * time.Hour
		if unit == 'w' {
			per *= 7
		}
		if err != nil || n <= 0 || n > int64(math.MaxInt64/per) {
			return 0, httpquery.BadParam(paramLookback, s, reason)
		}
		d = time.Duration(n) * per
	default:
		var err error
		if d, err = time.ParseDuration(s); err != nil {
			return 0, httpquery.BadParam(paramLookback, s, reason)
		}
	}
	if d <= 0 {
		return 0, httpquery.BadParam(paramLookback, s, reason)
	}
	return d, nil
}

// parseLimit parses a positive trace count, defaulting when empty and
// capping at MaxLimit. Jaeger rejects 0 and negative limits too.
func (a *API) parseLimit(name, s string) (int, error) {
	if s == "" {
		return a.opts.DefaultLimit, nil
	}
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil || n <= 0 {
		return 0, httpquery.BadParam(name, s, "must be a positive integer")
	}
	return min(int(n), a.opts.MaxLimit), nil
}

// parseDurations parses the optional minimum and maximum span durations
// (Go durations such as "1.2ms", "500us", "1s").
func parseDurations(v url.Values, minNames, maxNames []string) (lo, hi time.Duration, err error) {
	parse := func(names []string) (time.Duration, string, error) {
		s, name := getParam(v, names)
		if s == "" {
			return 0, name, nil
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return 0, name, httpquery.BadParam(name, s, `must be a non-negative duration such as "1.2ms", "500us" or "1s"`)
		}
		return d, name, nil
	}
	lo, loName, err := parse(minNames)
	if err != nil {
		return 0, 0, err
	}
	hi, hiName, err := parse(maxNames)
	if err != nil {
		return 0, 0, err
	}
	if lo != 0 && hi != 0 && hi < lo {
		return 0, 0, httpquery.ParamErrorf("invalid parameters: %q (%s) must not be greater than %q (%s)", loName, v.Get(loName), hiName, v.Get(hiName))
	}
	return lo, hi, nil
}

// parseBool parses an optional boolean given under any of names.
func parseBool(v url.Values, names ...string) (b, ok bool, err error) {
	s, name := getParam(v, names)
	if s == "" {
		return false, false, nil
	}
	b, err = strconv.ParseBool(s)
	if err != nil {
		return false, false, httpquery.BadParam(name, s, "must be true or false")
	}
	return b, true, nil
}

// parseTags merges the classic API's tag=key:value parameters and tags=
// JSON maps, JSON winning on conflicts as in Jaeger's parseTags. It
// returns nil when no tag was given.
func parseTags(simple, jsonMaps []string) (map[string]string, error) {
	var attrs map[string]string
	for _, t := range simple {
		key, value, ok := strings.Cut(t, ":")
		if !ok || key == "" {
			return nil, httpquery.BadParam(paramTag, t, "must be key:value")
		}
		if attrs == nil {
			attrs = make(map[string]string)
		}
		attrs[key] = value
	}
	for _, s := range jsonMaps {
		m, err := parseAttributeJSON(paramTags, s)
		if err != nil {
			return nil, err
		}
		if len(m) > 0 && attrs == nil {
			attrs = make(map[string]string, len(m))
		}
		maps.Copy(attrs, m)
	}
	return attrs, nil
}

// parseAttributeJSON parses a JSON object of string keys to string values.
func parseAttributeJSON(name, s string) (map[string]string, error) {
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, httpquery.BadParam(name, s, `must be a JSON object of strings such as {"http.status_code":"500"}`)
	}
	for k := range m {
		if k == "" {
			return nil, httpquery.BadParam(name, s, "attribute keys must not be empty")
		}
	}
	return m, nil
}
