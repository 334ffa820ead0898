package receiver

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/storage/tenant"
)

// How long clients are told to wait before retrying.
const (
	RetryAfterOverload    = 1 * time.Second
	RetryAfterUnavailable = 5 * time.Second
)

// Error is a failed request: the HTTP status and gRPC code to answer
// with, a message naming what was wrong, and for retryable failures how
// long to wait.
type Error struct {
	Status     int
	Code       codes.Code
	Msg        string
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Msg }

// BadRequest is a 400 / INVALID_ARGUMENT with a formatted message.
func BadRequest(format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: codes.InvalidArgument, Msg: fmt.Sprintf(format, args...)}
}

// UnsupportedMediaType is a 415 for a content type or encoding we do not read.
func UnsupportedMediaType(format string, args ...any) *Error {
	return &Error{Status: http.StatusUnsupportedMediaType, Code: codes.InvalidArgument, Msg: fmt.Sprintf(format, args...)}
}

// SetRetryAfter adds the Retry-After header for retryable errors.
func (e *Error) SetRetryAfter(h http.Header) {
	if e.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds())))
	}
}

// WriteText answers with e as a plain-text body (protocols without an
// error body format of their own: Zipkin, Jaeger Thrift over HTTP).
func (e *Error) WriteText(w http.ResponseWriter) {
	e.SetRetryAfter(w.Header())
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(e.Status)
	fmt.Fprintln(w, e.Msg)
}

// ReadBody reads r's body into buf, decompressing Content-Encoding gzip or
// zstd, and enforces limit both on the bytes received and on the
// decompressed bytes, so neither a huge body nor a compression bomb can
// fill memory: past the limit it stops reading and answers 413.
func ReadBody(r *http.Request, limit int, buf *bytes.Buffer) *Error {
	max := int64(limit)
	tooLarge := func(what string) *Error {
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: codes.InvalidArgument,
			Msg: fmt.Sprintf("%s is larger than the limit of %d bytes", what, max)}
	}
	if r.ContentLength > max {
		return tooLarge(fmt.Sprintf("request body (Content-Length %d)", r.ContentLength))
	}
	var body io.Reader = http.MaxBytesReader(nil, r.Body, max)
	encoding := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch encoding {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			if isMaxBytes(err) {
				return tooLarge("request body")
			}
			return BadRequest("Content-Encoding %s: body is not valid gzip: %v", encoding, err)
		}
		defer zr.Close()
		body = zr
	case "zstd":
		zr, err := zstd.NewReader(body, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(max)+1<<20))
		if err != nil {
			return BadRequest("Content-Encoding zstd: %v", err)
		}
		defer zr.Close()
		body = zr
	default:
		return UnsupportedMediaType("unsupported Content-Encoding %q; use gzip, zstd or none", encoding)
	}
	// Read one byte past the limit to tell "exactly at" from "over".
	n, err := buf.ReadFrom(io.LimitReader(body, max+1))
	if err != nil {
		if isMaxBytes(err) {
			return tooLarge("request body")
		}
		if encoding != "" && encoding != "identity" {
			return BadRequest("Content-Encoding %s: body cannot be decompressed: %v", encoding, err)
		}
		return BadRequest("reading request body: %v", err)
	}
	if n > max {
		return tooLarge("decompressed request body")
	}
	return nil
}

func isMaxBytes(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// Tenants finds the tenant of requests.
type Tenants struct {
	// Header names the HTTP header (gRPC metadata key, case-insensitive)
	// carrying the tenant; Default is used when it is absent.
	Header, Default string
}

// FromHTTP returns the tenant of r.
func (t Tenants) FromHTTP(r *http.Request) (string, *Error) {
	return t.check(r.Header.Get(t.Header), "header "+t.Header)
}

// FromGRPC returns the tenant of an incoming gRPC call.
func (t Tenants) FromGRPC(ctx context.Context) (string, *Error) {
	key := strings.ToLower(t.Header)
	id := ""
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if v := md.Get(key); len(v) > 0 {
			id = v[0]
		}
	}
	return t.check(id, "metadata "+key)
}

func (t Tenants) check(id, where string) (string, *Error) {
	if id == "" {
		id = t.Default
	}
	if err := tenant.Validate(id); err != nil {
		return "", BadRequest("%s: %v", where, err)
	}
	return id, nil
}

// ConsumeError maps an error of pipeline.Consume to the answer. It
// returns nil when the client is gone and nothing should be written.
func ConsumeError(ctx context.Context, err error, logger *slog.Logger, protocol string) *Error {
	var limit *pipeline.LimitError
	switch {
	case errors.As(err, &limit):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: codes.InvalidArgument, Msg: err.Error()}
	case errors.Is(err, pipeline.ErrOverloaded):
		return &Error{Status: http.StatusTooManyRequests, Code: codes.ResourceExhausted, Msg: err.Error(), RetryAfter: RetryAfterOverload}
	case errors.Is(err, pipeline.ErrUnavailable):
		logger.Warn("export failed", "protocol", protocol, "err", err)
		return &Error{Status: http.StatusServiceUnavailable, Code: codes.Unavailable, Msg: err.Error(), RetryAfter: RetryAfterUnavailable}
	case ctx.Err() != nil:
		return nil // the client went away; no one to answer
	}
	logger.Error("export failed", "protocol", protocol, "err", err)
	return &Error{Status: http.StatusInternalServerError, Code: codes.Internal, Msg: "internal error"}
}

// GRPCStatus turns e into a gRPC status error; retryable errors carry
// RetryInfo, which OTLP clients require before retrying RESOURCE_EXHAUSTED.
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(e.Code, e.Msg)
	if e.RetryAfter > 0 {
		if withInfo, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(e.RetryAfter)}); err == nil {
			return withInfo
		}
	}
	return st
}

// GRPCError maps an error of pipeline.Consume to a gRPC error.
func GRPCError(ctx context.Context, err error, logger *slog.Logger, protocol string) error {
	if e := ConsumeError(ctx, err, logger, protocol); e != nil {
		return e.GRPCStatus().Err()
	}
	return status.FromContextError(ctx.Err()).Err()
}

// Bodies reads request bodies into pooled buffers. A receiver releases a
// buffer as soon as the body is decoded (decoders copy what they keep), so
// a request waiting for its group-commit write holds only its converted
// spans, not its wire bytes: with a thousand exporters waiting at once,
// the bodies were the largest part of the heap.
type Bodies struct {
	limit int
	pool  sync.Pool
}

// NewBodies returns a pool for bodies of at most limit bytes.
func NewBodies(limit int) *Bodies {
	return &Bodies{limit: limit, pool: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
}

// Read reads r's body as ReadBody does. Call release once the body is
// decoded; body must not be used after. release may be called again.
func (b *Bodies) Read(r *http.Request) (body []byte, release func(), err *Error) {
	buf := b.pool.Get().(*bytes.Buffer)
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		if buf.Cap() > 4*b.limit { // do not pin one huge request's buffer
			return
		}
		buf.Reset()
		b.pool.Put(buf)
	}
	if err := ReadBody(r, b.limit, buf); err != nil {
		release()
		return nil, func() {}, err
	}
	return buf.Bytes(), release, nil
}
