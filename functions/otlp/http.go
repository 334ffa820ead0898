package otlp

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"sync"

	"github.com/klauspost/compress/zstd"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/storage/tenant"
)

const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

// HTTPHandler serves OTLP/HTTP trace exports (POST /v1/traces).
type HTTPHandler struct {
	cfg    Config
	next   Consumer
	logger *slog.Logger
	bufs   sync.Pool
}

// NewHTTPHandler returns a handler feeding next.
func NewHTTPHandler(cfg Config, next Consumer, logger *slog.Logger) *HTTPHandler {
	return &HTTPHandler{cfg: cfg, next: next, logger: logger, bufs: sync.Pool{New: func() any { return new(bytes.Buffer) }}}
}

// Register adds the OTLP route to mux.
func (h *HTTPHandler) Register(mux *http.ServeMux) {
	mux.Handle("/v1/traces", h)
}

// httpError is a failure with its HTTP status, answered as a google.rpc.Status.
type httpError struct {
	status     int
	code       codes.Code
	msg        string
	retryAfter int // seconds; 0 for none
}

func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Answer in the request's encoding when we can tell it, else protobuf
	// (the specification's default for Status bodies).
	respType := contentTypeProto
	mediaType, _, mtErr := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mtErr == nil && mediaType == contentTypeJSON {
		respType = contentTypeJSON
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		h.fail(w, respType, httpError{status: http.StatusMethodNotAllowed, code: codes.Unimplemented,
			msg: fmt.Sprintf("method %s is not allowed on %s; use POST", r.Method, r.URL.Path)})
		return
	}
	if mtErr != nil || (mediaType != contentTypeProto && mediaType != contentTypeJSON) {
		h.fail(w, respType, httpError{status: http.StatusUnsupportedMediaType, code: codes.InvalidArgument,
			msg: fmt.Sprintf("unsupported Content-Type %q; use %s or %s", r.Header.Get("Content-Type"), contentTypeProto, contentTypeJSON)})
		return
	}
	tenantID := r.Header.Get(h.cfg.TenantHeader)
	if tenantID == "" {
		tenantID = h.cfg.DefaultTenant
	}
	if err := tenant.Validate(tenantID); err != nil {
		h.fail(w, respType, httpError{status: http.StatusBadRequest, code: codes.InvalidArgument,
			msg: fmt.Sprintf("header %s: %v", h.cfg.TenantHeader, err)})
		return
	}

	buf := h.bufs.Get().(*bytes.Buffer)
	defer h.putBuf(buf)
	if herr := h.readBody(r, buf); herr != nil {
		h.fail(w, respType, *herr)
		return
	}
	req := ptraceotlp.NewExportRequest()
	var err error
	if mediaType == contentTypeJSON {
		err = req.UnmarshalJSON(buf.Bytes())
	} else {
		err = req.UnmarshalProto(buf.Bytes())
	}
	if err != nil {
		h.fail(w, respType, httpError{status: http.StatusBadRequest, code: codes.InvalidArgument,
			msg: fmt.Sprintf("request body is not a valid OTLP ExportTraceServiceRequest in %s: %v", mediaType, err)})
		return
	}

	res, err := h.next.Consume(r.Context(), ProtocolHTTP, tenantID, req.Traces())
	if err != nil {
		if herr, ok := h.consumeError(r.Context(), err); ok {
			h.fail(w, respType, herr)
		}
		return
	}
	resp := ptraceotlp.NewExportResponse()
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.RejectMessage)
	}
	var body []byte
	if respType == contentTypeJSON {
		body, err = resp.MarshalJSON()
	} else {
		body, err = resp.MarshalProto()
	}
	if err != nil {
		h.logger.Error("marshal OTLP response", "err", err)
		h.fail(w, respType, httpError{status: http.StatusInternalServerError, code: codes.Internal, msg: "could not encode the response"})
		return
	}
	w.Header().Set("Content-Type", respType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (h *HTTPHandler) putBuf(buf *bytes.Buffer) {
	if buf.Cap() > 4*h.cfg.MaxRequestBytes {
		return
	}
	buf.Reset()
	h.bufs.Put(buf)
}

// readBody reads the (possibly compressed) body into buf, enforcing the
// size limit before and after decompression, so neither a huge body nor a
// compression bomb can fill memory.
func (h *HTTPHandler) readBody(r *http.Request, buf *bytes.Buffer) *httpError {
	limit := int64(h.cfg.MaxRequestBytes)
	tooLarge := func(what string) *httpError {
		return &httpError{status: http.StatusRequestEntityTooLarge, code: codes.InvalidArgument,
			msg: fmt.Sprintf("%s is larger than the limit of %d bytes", what, limit)}
	}
	if r.ContentLength > limit {
		return tooLarge(fmt.Sprintf("request body (Content-Length %d)", r.ContentLength))
	}
	var body io.Reader = http.MaxBytesReader(nil, r.Body, limit)
	encoding := r.Header.Get("Content-Encoding")
	switch encoding {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(body)
		if err != nil {
			if isMaxBytes(err) {
				return tooLarge("request body")
			}
			return &httpError{status: http.StatusBadRequest, code: codes.InvalidArgument, msg: fmt.Sprintf("Content-Encoding gzip: body is not valid gzip: %v", err)}
		}
		defer zr.Close()
		body = zr
	case "zstd":
		zr, err := zstd.NewReader(body, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(uint64(limit)+1<<20))
		if err != nil {
			return &httpError{status: http.StatusBadRequest, code: codes.InvalidArgument, msg: fmt.Sprintf("Content-Encoding zstd: %v", err)}
		}
		defer zr.Close()
		body = zr
	default:
		return &httpError{status: http.StatusUnsupportedMediaType, code: codes.InvalidArgument,
			msg: fmt.Sprintf("unsupported Content-Encoding %q; use gzip, zstd or none", encoding)}
	}
	// Read one byte past the limit to tell "exactly at" from "over".
	n, err := buf.ReadFrom(io.LimitReader(body, limit+1))
	if err != nil {
		if isMaxBytes(err) {
			return tooLarge("request body")
		}
		if encoding != "" && encoding != "identity" {
			return &httpError{status: http.StatusBadRequest, code: codes.InvalidArgument, msg: fmt.Sprintf("Content-Encoding %s: body cannot be decompressed: %v", encoding, err)}
		}
		return &httpError{status: http.StatusBadRequest, code: codes.InvalidArgument, msg: fmt.Sprintf("reading request body: %v", err)}
	}
	if n > limit {
		return tooLarge("decompressed request body")
	}
	return nil
}

func isMaxBytes(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

// consumeError maps a pipeline error to the response; ok is false when
// the client is gone and nothing should be written.
func (h *HTTPHandler) consumeError(ctx context.Context, err error) (httpError, bool) {
	switch {
	case errors.Is(err, pipeline.ErrOverloaded):
		return httpError{status: http.StatusTooManyRequests, code: codes.ResourceExhausted, msg: err.Error(), retryAfter: int(retryAfterOverload.Seconds())}, true
	case errors.Is(err, pipeline.ErrUnavailable):
		h.logger.Warn("OTLP/HTTP export failed", "err", err)
		return httpError{status: http.StatusServiceUnavailable, code: codes.Unavailable, msg: err.Error(), retryAfter: int(retryAfterUnavailable.Seconds())}, true
	case ctx.Err() != nil:
		return httpError{}, false // the client went away; no one to answer
	}
	h.logger.Error("OTLP/HTTP export failed", "err", err)
	return httpError{status: http.StatusInternalServerError, code: codes.Internal, msg: "internal error"}, true
}

// fail answers with a google.rpc.Status body in respType, as the OTLP
// specification requires for every 4xx and 5xx.
func (h *HTTPHandler) fail(w http.ResponseWriter, respType string, e httpError) {
	st := &spb.Status{Code: int32(e.code), Message: e.msg}
	var body []byte
	var err error
	if respType == contentTypeJSON {
		body, err = protojson.Marshal(st)
	} else {
		body, err = proto.Marshal(st)
	}
	if err != nil {
		body, respType = []byte(e.msg), "text/plain; charset=utf-8"
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	w.Header().Set("Content-Type", respType)
	w.WriteHeader(e.status)
	_, _ = w.Write(body)
}
