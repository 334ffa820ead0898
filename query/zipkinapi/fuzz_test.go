package zipkinapi

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tracelake/tracelake/query/httpquery"
	"github.com/tracelake/tracelake/query/querytest"
)

// FuzzParseTracesQuery feeds arbitrary query strings to the parameter
// parsers (the seed corpus is in testdata/fuzz/FuzzParseTracesQuery): they
// must never panic, must refuse only with a parameter error, and what they
// accept must be something the Querier contract allows.
func FuzzParseTracesQuery(f *testing.F) {
	f.Add("serviceName=frontend&spanName=get&annotationQuery=http.method%3DGET+and+error&minDuration=1&maxDuration=2&endTs=1714560000000&lookback=3600000&limit=10")
	const maxLimit = 50
	a := New(&querytest.Fake{}, Options{Now: func() time.Time { return fixedNow }, MaxLimit: maxLimit})
	h := newTestServer(&querytest.Fake{}, Options{MaxLimit: maxLimit})
	f.Fuzz(func(t *testing.T, raw string) {
		v, _ := url.ParseQuery(raw) // keeps what parsed before an error

		if req, err := a.parseTracesQuery(v); err != nil {
			checkParamError(t, "traces", err)
		} else {
			q := req.query
			if q.Limit < 1 || q.Limit > maxLimit {
				t.Errorf("limit %d outside [1, %d]", q.Limit, maxLimit)
			}
			if q.StartMin.Before(time.Unix(0, 0)) || !q.StartMin.Before(q.StartMax) || q.StartMin.UnixNano() >= q.StartMax.UnixNano() {
				t.Errorf("window [%v, %v) empty, before the epoch or overflowing", q.StartMin, q.StartMax)
			}
			if q.DurationMin < 0 || q.DurationMax < 0 || (q.DurationMax != 0 && q.DurationMax < q.DurationMin) {
				t.Errorf("durations [%v, %v]", q.DurationMin, q.DurationMax)
			}
			if q.OperationName == "all" {
				t.Error(`span name "all" passed on`)
			}
			checkAnnotationQuery(t, q.Attributes, q.AttributeKeys)
		}

		if tr, err := parseDependencies(v); err != nil {
			checkParamError(t, "dependencies", err)
		} else if !tr.Start.Before(tr.End) {
			t.Errorf("dependencies window [%v, %v) empty", tr.Start, tr.End)
		}

		if ids, err := a.parseTraceIDs(v); err != nil {
			checkParamError(t, "traceIds", err)
		} else {
			if len(ids) < 2 || len(ids) > maxLimit {
				t.Errorf("%d trace IDs accepted", len(ids))
			}
			seen := make(map[string]bool)
			for _, id := range ids {
				s := zipkinTraceID(id)
				if id.IsEmpty() || seen[s] {
					t.Errorf("trace ID %s empty or repeated", s)
				}
				seen[s] = true
			}
		}

		for _, s := range append(strings.Split(v.Get(paramTraceIDs), ","), raw) {
			if id, err := parseTraceID(paramTraceID, s); err == nil {
				back, err := parseTraceID(paramTraceID, zipkinTraceID(id))
				if err != nil || back != id {
					t.Errorf("trace ID %q does not round-trip: %v %v", s, back, err)
				}
			}
		}

		attrs, keys := parseAnnotationQuery(raw)
		checkAnnotationQuery(t, attrs, keys)

		target := "/api/v2/traces?" + raw
		if _, err := url.ParseRequestURI(target); err != nil || strings.ContainsAny(raw, " \t\r\n#") {
			return // not something an HTTP client could send
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
		if w.Code != 200 && w.Code != 400 {
			t.Fatalf("%s: status %d: %s", raw, w.Code, w.Body)
		}
	})
}

func checkParamError(t *testing.T, what string, err error) {
	t.Helper()
	var pe *httpquery.ParamError
	if !errors.As(err, &pe) {
		t.Errorf("%s: %T is not a parameter error: %v", what, err, err)
	}
}

// checkAnnotationQuery asserts what parseAnnotationQuery promises.
func checkAnnotationQuery(t *testing.T, attrs map[string]string, keys []string) {
	t.Helper()
	for k, v := range attrs {
		if k == "" || v == "" {
			t.Errorf("attribute %q=%q has an empty key or value", k, v)
		}
	}
	seen := make(map[string]bool)
	for _, k := range keys {
		if _, ok := attrs[k]; k == "" || ok || seen[k] {
			t.Errorf("bare key %q is empty, repeated or also a key=value", k)
		}
		seen[k] = true
	}
}
