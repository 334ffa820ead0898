package httpquery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/tracelake/tracelake/query"
)

// statusClientClosedRequest is nginx's non-standard code for a client that
// went away before the answer was ready. It is only logged, never written.
const statusClientClosedRequest = 499

// ParamError is a request the client got wrong: a missing, malformed or
// contradictory parameter or header. It maps to 400 and its message is
// shown to the client, so it names the parameter and the bad value.
type ParamError struct {
	msg string
}

func (e *ParamError) Error() string { return e.msg }

// MissingParam reports a required parameter that was not given.
func MissingParam(name string) error {
	return &ParamError{msg: fmt.Sprintf("parameter %q is required", name)}
}

// BadParam reports a parameter whose value cannot be used.
func BadParam(name, value, reason string) error {
	return &ParamError{msg: fmt.Sprintf("invalid value %q for parameter %q: %s", clip(value), name, reason)}
}

// ParamErrorf reports a problem spanning several parameters, or one that
// is not about a query parameter (a header, the query string itself).
func ParamErrorf(format string, args ...any) error {
	return &ParamError{msg: fmt.Sprintf(format, args...)}
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

// Messages Classify shows for errors whose details stay in the log.
const (
	// MsgUnavailable answers a 503: the client may retry.
	MsgUnavailable = "storage unavailable, try again later"
	// MsgInternal answers a 500, whatever went wrong.
	MsgInternal = "internal error"
)

// Classify maps an error to the HTTP status the query APIs answer with and
// the message the client may see. It is the only place that decides
// statuses:
//
//   - a ParamError is 400 with its own message, and so is an error
//     wrapping query.ErrBadCursor;
//   - an error wrapping query.ErrNotFound is 404 "trace not found" (an API
//     may reword it, as api_v3 and Zipkin do);
//   - context.Canceled is 499, which is never written: the client is gone;
//   - query.ErrUnavailable and context.DeadlineExceeded are 503, which a
//     client may retry;
//   - anything else is 500 with a generic message.
func Classify(err error) (status int, msg string) {
	var pe *ParamError
	switch {
	case errors.As(err, &pe):
		return http.StatusBadRequest, pe.msg
	case errors.Is(err, query.ErrBadCursor):
		return http.StatusBadRequest, err.Error()
	case errors.Is(err, query.ErrNotFound):
		return http.StatusNotFound, query.ErrNotFound.Error()
	case errors.Is(err, context.Canceled):
		return statusClientClosedRequest, ""
	case errors.Is(err, query.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, MsgUnavailable
	default:
		return http.StatusInternalServerError, MsgInternal
	}
}

// Failed classifies err, the failure of request r, and logs to log what
// the client will not see: a 503 as a warning, a 500 as an error, a client
// that went away at debug level. It reports whether an answer should be
// written at all: not when the client is gone, whatever err says.
func Failed(log *slog.Logger, r *http.Request, err error) (status int, msg string, write bool) {
	status, msg = Classify(err)
	ctx := r.Context()
	if errors.Is(ctx.Err(), context.Canceled) {
		// However the Querier reported it, nobody is listening any more.
		status, msg = statusClientClosedRequest, ""
	}
	switch status {
	case statusClientClosedRequest:
		log.DebugContext(ctx, "client went away", "route", r.Pattern, "status", status, "err", err)
		return status, msg, false
	case http.StatusServiceUnavailable:
		log.WarnContext(ctx, "query unavailable", "route", r.Pattern, "status", status, "err", err)
	case http.StatusInternalServerError:
		log.ErrorContext(ctx, "query failed", "route", r.Pattern, "status", status, "err", err)
	}
	return status, msg, true
}
