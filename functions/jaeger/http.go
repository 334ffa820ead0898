package jaeger

import (
	"fmt"
	"log/slog"
	"mime"
	"net/http"

	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"google.golang.org/grpc/codes"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/functions/receiver"
)

// The media types jaeger-collector accepts for a binary-protocol Batch.
const (
	contentTypeThrift       = "application/x-thrift"
	contentTypeThriftBinary = "application/vnd.apache.thrift.binary"
)

// HTTPHandler serves Jaeger Thrift over HTTP (POST /api/traces): the body
// is one jaeger.Batch in Thrift's binary protocol, as jaeger-client's
// HTTP sender and OpenTelemetry's Jaeger Thrift exporters send it.
type HTTPHandler struct {
	cfg     Config
	tenants receiver.Tenants
	next    pipeline.Consumer
	logger  *slog.Logger
	bodies  *receiver.Bodies
}

// NewHTTPHandler returns a handler feeding next.
func NewHTTPHandler(cfg Config, next pipeline.Consumer, logger *slog.Logger) *HTTPHandler {
	return &HTTPHandler{
		cfg:     cfg,
		tenants: receiver.Tenants{Header: cfg.TenantHeader, Default: cfg.DefaultTenant},
		next:    next,
		logger:  logger,
		bodies:  receiver.NewBodies(cfg.MaxRequestBytes),
	}
}

// Register adds the route to mux, the collector's (:14268): the query
// API's GET /api/traces lives on another port.
func (h *HTTPHandler) Register(mux *http.ServeMux) {
	mux.Handle("/api/traces", h)
}

// ServeHTTP answers 202 Accepted like jaeger-collector once the spans are
// stored; errors are plain text.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		(&receiver.Error{Status: http.StatusMethodNotAllowed, Code: codes.Unimplemented,
			Msg: fmt.Sprintf("method %s is not allowed on %s; use POST", r.Method, r.URL.Path)}).WriteText(w)
		return
	}
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (mediaType != contentTypeThrift && mediaType != contentTypeThriftBinary) {
		receiver.UnsupportedMediaType("unsupported Content-Type %q; use %s (a Thrift binary-protocol jaeger.Batch)",
			r.Header.Get("Content-Type"), contentTypeThrift).WriteText(w)
		return
	}
	tenantID, herr := h.tenants.FromHTTP(r)
	if herr != nil {
		herr.WriteText(w)
		return
	}

	body, release, herr := h.bodies.Read(r)
	defer release()
	if herr != nil {
		herr.WriteText(w)
		return
	}
	batch, err := decodeBatch(r.Context(), body)
	release() // decoded: the wait for storage need not hold the wire bytes
	if err != nil {
		receiver.BadRequest("request body is not a Thrift binary-protocol jaeger.Batch: %v", err).WriteText(w)
		return
	}
	td, err := jaegertranslator.ThriftToTraces(batch)
	if err != nil {
		receiver.BadRequest("batch cannot be translated to OTLP: %v", err).WriteText(w)
		return
	}

	res, err := h.next.Consume(r.Context(), ProtocolThriftHTTP, tenantID, td)
	if err != nil {
		if herr := receiver.ConsumeError(r.Context(), err, h.logger, ProtocolThriftHTTP); herr != nil {
			herr.WriteText(w)
		}
		return
	}
	if res.Rejected > 0 {
		rejected(res).WriteText(w)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
