package zipkinapi

import (
	"github.com/tracelake/tracelake/query"
)

// Statuses and the messages of most errors are httpquery's: a bad
// parameter is an httpquery.ParamError, which is Zipkin's
// IllegalArgumentException (BodyIsExceptionMessage answers it with 400 and
// the exception's message as plain text). What is Zipkin's own is below.

// notFoundError is a trace that is not stored. Its message is Zipkin's:
// "<traceId> not found". It wraps query.ErrNotFound, so httpquery.Classify
// answers it with 404; fail shows its message instead of httpquery's.
type notFoundError struct {
	traceID string
}

func (e *notFoundError) Error() string { return e.traceID + " not found" }

func (e *notFoundError) Unwrap() error { return query.ErrNotFound }
