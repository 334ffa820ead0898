package zipkinapi

import (
	"encoding/hex"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/httpquery"
)

// Parameter names (ZipkinQueryApiV2.java and zipkin2-api.yaml).
const (
	paramServiceName       = "serviceName"
	paramRemoteServiceName = "remoteServiceName"
	paramSpanName          = "spanName"
	paramAnnotationQuery   = "annotationQuery"
	paramMinDuration       = "minDuration"
	paramMaxDuration       = "maxDuration"
	paramEndTs             = "endTs"
	paramLookback          = "lookback"
	paramLimit             = "limit"
	paramTraceID           = "traceId"
	paramTraceIDs          = "traceIds"
	paramKey               = "key"
)

// Limits that keep every accepted time representable: storage compares
// nanoseconds since the Unix epoch in an int64 (up to the year 2262).
const (
	// maxEndTs is the largest endTs (ms) whose inclusive end, one µs
	// later, still fits.
	maxEndTs = (math.MaxInt64 - int64(time.Microsecond)) / int64(time.Millisecond)
	// maxMicros is the longest span duration (µs) a time.Duration holds.
	maxMicros = math.MaxInt64 / int64(time.Microsecond)
)

// tracesRequest is what GET /api/v2/traces asks for.
type tracesRequest struct {
	// query is the search, remote service aside.
	query query.TraceQuery
	// remoteService, when set, is the remote service name the matching
	// span must name (QueryRequest.remoteServiceName).
	remoteService string
}

// parseTracesQuery parses a trace search the way Zipkin's
// ZipkinQueryApiV2.getTraces and QueryRequest.Builder do: every parameter
// is optional; endTs (ms) defaults to now, lookback (ms) to one day, limit
// to 10; durations are µs. As in QueryRequest.build, endTs, lookback and
// limit must be positive, minDuration too, maxDuration needs minDuration
// and must not be less than it, and spanName "all" means any span name.
// Beyond Zipkin, limit is capped at Options.MaxLimit and times past what
// storage can represent are rejected. Names are not lowercased: see doc.go.
func (a *API) parseTracesQuery(v url.Values) (tracesRequest, error) {
	var req tracesRequest

	endTs, hasEnd, err := parsePositive(v, paramEndTs, maxEndTs, "must be a positive time in milliseconds since the Unix epoch, before the year 2262")
	if err != nil {
		return req, err
	}
	if !hasEnd {
		endTs = max(a.opts.Now().UnixMilli(), 1)
	}
	lookback, err := parseLookback(v)
	if err != nil {
		return req, err
	}
	limit, hasLimit, err := parsePositive(v, paramLimit, math.MaxInt32, "must be a positive integer")
	if err != nil {
		return req, err
	}
	if !hasLimit {
		limit = DefaultLimit
	}
	minDur, hasMin, err := parsePositive(v, paramMinDuration, maxMicros, "must be a positive number of microseconds")
	if err != nil {
		return req, err
	}
	maxDur, hasMax, err := parsePositive(v, paramMaxDuration, maxMicros, "must be a positive number of microseconds")
	if err != nil {
		return req, err
	}
	if hasMax && !hasMin {
		return req, httpquery.ParamErrorf("parameter %q is only valid with %q", paramMaxDuration, paramMinDuration)
	}
	if hasMax && maxDur < minDur {
		return req, httpquery.ParamErrorf("invalid parameters: %q (%d) is less than %q (%d)", paramMaxDuration, maxDur, paramMinDuration, minDur)
	}

	spanName := v.Get(paramSpanName)
	if spanName == "all" { // the legacy UI's "any span name"
		spanName = ""
	}
	attrs, keys := parseAnnotationQuery(v.Get(paramAnnotationQuery))

	req.remoteService = v.Get(paramRemoteServiceName)
	req.query = query.TraceQuery{
		ServiceName:   v.Get(paramServiceName),
		OperationName: spanName,
		Attributes:    attrs,
		AttributeKeys: keys,
		// [endTs - lookback, endTs] with both ends inclusive at the µs
		// grain of Zipkin timestamps; StartMax is exclusive.
		StartMin:    time.UnixMilli(max(endTs-lookback, 0)).UTC(),
		StartMax:    time.UnixMilli(endTs).UTC().Add(time.Microsecond),
		DurationMin: time.Duration(minDur) * time.Microsecond,
		DurationMax: time.Duration(maxDur) * time.Microsecond,
		Limit:       min(int(limit), a.opts.MaxLimit),
	}
	return req, nil
}

// parseDependencies parses GET /api/v2/dependencies: endTs (ms) is
// required (a primitive long in ZipkinQueryApiV2.getDependencies) and
// lookback defaults to one day; storage rejects values that are not
// positive (InMemoryStorage.getDependencies).
func parseDependencies(v url.Values) (query.TimeRange, error) {
	endTs, ok, err := parsePositive(v, paramEndTs, maxEndTs, "must be a positive time in milliseconds since the Unix epoch, before the year 2262")
	if err != nil {
		return query.TimeRange{}, err
	}
	if !ok {
		return query.TimeRange{}, httpquery.MissingParam(paramEndTs)
	}
	lookback, err := parseLookback(v)
	if err != nil {
		return query.TimeRange{}, err
	}
	return query.TimeRange{
		Start: time.UnixMilli(max(endTs-lookback, 0)).UTC(),
		End:   time.UnixMilli(endTs).UTC().Add(time.Microsecond),
	}, nil
}

// parseLookback parses the optional lookback in ms, default one day.
func parseLookback(v url.Values) (int64, error) {
	lookback, ok, err := parsePositive(v, paramLookback, math.MaxInt64, "must be a positive number of milliseconds")
	if err != nil {
		return 0, err
	}
	if !ok {
		return DefaultLookback.Milliseconds(), nil
	}
	return lookback, nil
}

// parsePositive parses an optional integer parameter in [1, limit]. An
// empty value counts as absent.
func parsePositive(v url.Values, name string, limit int64, reason string) (n int64, ok bool, err error) {
	s := v.Get(name)
	if s == "" {
		return 0, false, nil
	}
	n, err = strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || n > limit {
		return 0, false, httpquery.BadParam(name, s, reason)
	}
	return n, true, nil
}

// parseAnnotationQuery parses Zipkin's annotationQuery, following
// QueryRequest.Builder.parseAnnotationQuery: terms are separated by
// " and " (at most 100 terms, the last keeping the rest); a term with "="
// is a tag key and value, split at the first "=", and a later one for the
// same key wins; a bare term asks for a tag key or an annotation value and
// does not replace an earlier key=value. Keys and values are trimmed as
// Java's String.trim does. A term with an empty value is a bare term, as
// in Zipkin, and terms with empty keys are skipped (annotationQueryString
// does so too). Key=value terms become Attributes and bare terms
// AttributeKeys, in the order first given; both are nil when empty.
func parseAnnotationQuery(s string) (attrs map[string]string, keys []string) {
	if s == "" {
		return nil, nil
	}
	var order []string
	values := make(map[string]string)
	for _, term := range strings.SplitN(s, " and ", 100) {
		k, val, isTag := strings.Cut(term, "=")
		k = javaTrim(k)
		_, seen := values[k]
		if !seen {
			order = append(order, k)
		}
		if isTag {
			values[k] = javaTrim(val)
		} else if !seen {
			values[k] = ""
		}
	}
	for _, k := range order {
		switch val := values[k]; {
		case k == "":
		case val == "":
			keys = append(keys, k)
		default:
			if attrs == nil {
				attrs = make(map[string]string)
			}
			attrs[k] = val
		}
	}
	return attrs, keys
}

// javaTrim trims what Java's String.trim trims: every character up to and
// including the space.
func javaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

const traceIDReason = "a trace ID is 1 to 32 hexadecimal characters, not all zeros"

// parseTraceID parses a trace ID as Zipkin's Span.normalizeTraceId does:
// 1 to 32 hex characters, not all zeros, left-padded with zeros to 128
// bits (so a 64-bit ID has zero high bits, as the Zipkin→OTLP translator
// stores it). Unlike Zipkin, upper case is accepted, and surrounding
// spaces are trimmed (getTrace trims, traceMany does not).
func parseTraceID(name, s string) (pcommon.TraceID, error) {
	trimmed := javaTrim(s)
	if trimmed == "" || len(trimmed) > 32 {
		return pcommon.TraceID{}, httpquery.BadParam(name, s, traceIDReason)
	}
	var buf [32]byte
	for i := range buf {
		buf[i] = '0'
	}
	copy(buf[32-len(trimmed):], trimmed)
	var id pcommon.TraceID
	if _, err := hex.Decode(id[:], buf[:]); err != nil || id.IsEmpty() {
		return pcommon.TraceID{}, httpquery.BadParam(name, s, traceIDReason)
	}
	return id, nil
}

// parseTraceIDs parses traceMany's comma-separated traceIds as
// ZipkinQueryApiV2.getTraces(String) does: empty is an error, every ID
// must parse, an ID given twice (once normalized) is an error, and a
// single ID is an error that points to /api/v2/trace/{traceId}. More than
// Options.MaxLimit IDs are refused.
func (a *API) parseTraceIDs(v url.Values) ([]pcommon.TraceID, error) {
	if !v.Has(paramTraceIDs) {
		return nil, httpquery.MissingParam(paramTraceIDs)
	}
	s := v.Get(paramTraceIDs)
	if s == "" {
		return nil, httpquery.ParamErrorf("parameter %q is empty", paramTraceIDs)
	}
	parts := strings.Split(s, ",")
	if len(parts) > a.opts.MaxLimit {
		return nil, httpquery.ParamErrorf("parameter %q names %d traces, at most %d are allowed", paramTraceIDs, len(parts), a.opts.MaxLimit)
	}
	ids := make([]pcommon.TraceID, 0, len(parts))
	seen := make(map[pcommon.TraceID]bool, len(parts))
	for _, p := range parts {
		id, err := parseTraceID(paramTraceIDs, p)
		if err != nil {
			return nil, err
		}
		if seen[id] {
			return nil, httpquery.BadParam(paramTraceIDs, p, "trace ID "+zipkinTraceID(id)+" is listed more than once")
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if len(ids) == 1 {
		return nil, httpquery.ParamErrorf("parameter %q names one trace: use /api/v2/trace/{traceId} to retrieve a single trace", paramTraceIDs)
	}
	return ids, nil
}

// zipkinTraceID renders id as Zipkin does: 16 lower-hex characters when
// the high 64 bits are zero, 32 otherwise.
func zipkinTraceID(id pcommon.TraceID) string {
	if [8]byte(id[:8]) == [8]byte{} {
		return hex.EncodeToString(id[8:])
	}
	return hex.EncodeToString(id[:])
}
