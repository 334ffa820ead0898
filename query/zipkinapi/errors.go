package zipkinapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/tracelake/tracelake/query"
)

// statusClientClosedRequest is nginx's non-standard code for a client that
// went away before the answer was ready. It is only logged, never written.
const statusClientClosedRequest = 499

// paramError is a request the client got wrong: a missing, malformed or
// contradictory parameter or header. It maps to 400 and its message is
// shown to the client, so it names the parameter and the bad value. It is
// Zipkin's IllegalArgumentException, which BodyIsExceptionMessage answers
// with 400 and the exception's message as plain text.
type paramError struct {
	msg string
}

func (e *paramError) Error() string { return e.msg }

// missingParam reports a required parameter that was not given.
func missingParam(name string) error {
	return &paramError{msg: fmt.Sprintf("parameter %q is required", name)}
}

// badParam reports a parameter whose value cannot be used.
func badParam(name, value, reason string) error {
	return &paramError{msg: fmt.Sprintf("invalid value %q for parameter %q: %s", clip(value), name, reason)}
}

// paramErrorf reports a problem spanning several parameters.
func paramErrorf(format string, args ...any) error {
	return &paramError{msg: fmt.Sprintf(format, args...)}
}

// clip keeps echoed client input short: a message naming the bad value
// must not turn a 10 kB query string into a 10 kB error.
func clip(s string) string {
	const max = 128
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

// notFoundError is a trace that is not stored. Its message is Zipkin's:
// "<traceId> not found".
type notFoundError struct {
	traceID string
}

func (e *notFoundError) Error() string { return e.traceID + " not found" }

func (e *notFoundError) Unwrap() error { return query.ErrNotFound }

// Messages shown for errors whose details stay in the log.
const (
	msgUnavailable = "storage unavailable, try again later"
	msgInternal    = "internal error"
)

// classify maps an error to the HTTP status the API answers with and the
// message the client may see. It is the only place that decides statuses.
func classify(err error) (status int, msg string) {
	var (
		pe *paramError
		nf *notFoundError
	)
	switch {
	case errors.As(err, &pe):
		return http.StatusBadRequest, pe.msg
	case errors.As(err, &nf):
		return http.StatusNotFound, nf.Error()
	case errors.Is(err, query.ErrNotFound):
		return http.StatusNotFound, query.ErrNotFound.Error()
	case errors.Is(err, context.Canceled):
		return statusClientClosedRequest, ""
	case errors.Is(err, query.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, msgUnavailable
	default:
		return http.StatusInternalServerError, msgInternal
	}
}

// failed classifies err and logs what the client will not see. It reports
// whether an answer should be written at all (not when the client is gone).
func (a *API) failed(r *http.Request, err error) (status int, msg string, write bool) {
	status, msg = classify(err)
	ctx := r.Context()
	if errors.Is(ctx.Err(), context.Canceled) {
		// However the Querier reported it, nobody is listening any more.
		status, msg = statusClientClosedRequest, ""
	}
	switch status {
	case statusClientClosedRequest:
		a.log.DebugContext(ctx, "client went away", "route", r.Pattern, "status", status, "err", err)
		return status, msg, false
	case http.StatusServiceUnavailable:
		a.log.WarnContext(ctx, "query unavailable", "route", r.Pattern, "status", status, "err", err)
	case http.StatusInternalServerError:
		a.log.ErrorContext(ctx, "query failed", "route", r.Pattern, "status", status, "err", err)
	}
	return status, msg, true
}
