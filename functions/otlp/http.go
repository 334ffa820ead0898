package otlp

import (
	"fmt"
	"log/slog"
	"mime"
	"net/http"

	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/functions/receiver"
)

const (
	contentTypeProto = "application/x-protobuf"
	contentTypeJSON  = "application/json"
)

// HTTPHandler serves OTLP/HTTP trace exports (POST /v1/traces).
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

// Register adds the OTLP route to mux.
func (h *HTTPHandler) Register(mux *http.ServeMux) {
	mux.Handle("/v1/traces", h)
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
		h.fail(w, respType, &receiver.Error{Status: http.StatusMethodNotAllowed, Code: codes.Unimplemented,
			Msg: fmt.Sprintf("method %s is not allowed on %s; use POST", r.Method, r.URL.Path)})
		return
	}
	if mtErr != nil || (mediaType != contentTypeProto && mediaType != contentTypeJSON) {
		h.fail(w, respType, receiver.UnsupportedMediaType("unsupported Content-Type %q; use %s or %s", r.Header.Get("Content-Type"), contentTypeProto, contentTypeJSON))
		return
	}
	tenantID, herr := h.tenants.FromHTTP(r)
	if herr != nil {
		h.fail(w, respType, herr)
		return
	}

	body, release, herr := h.bodies.Read(r)
	defer release()
	if herr != nil {
		h.fail(w, respType, herr)
		return
	}
	req := ptraceotlp.NewExportRequest()
	var err error
	if mediaType == contentTypeJSON {
		err = req.UnmarshalJSON(body)
	} else {
		err = req.UnmarshalProto(body)
	}
	release() // decoded: the wait for storage need not hold the wire bytes
	if err != nil {
		h.fail(w, respType, receiver.BadRequest("request body is not a valid OTLP ExportTraceServiceRequest in %s: %v", mediaType, err))
		return
	}

	res, err := h.next.Consume(r.Context(), ProtocolHTTP, tenantID, req.Traces())
	if err != nil {
		if herr := receiver.ConsumeError(r.Context(), err, h.logger, ProtocolHTTP); herr != nil {
			h.fail(w, respType, herr)
		}
		return
	}
	resp := ptraceotlp.NewExportResponse()
	if res.Rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(int64(res.Rejected))
		resp.PartialSuccess().SetErrorMessage(res.RejectMessage)
	}
	var out []byte
	if respType == contentTypeJSON {
		out, err = resp.MarshalJSON()
	} else {
		out, err = resp.MarshalProto()
	}
	if err != nil {
		h.logger.Error("marshal OTLP response", "err", err)
		h.fail(w, respType, &receiver.Error{Status: http.StatusInternalServerError, Code: codes.Internal, Msg: "could not encode the response"})
		return
	}
	w.Header().Set("Content-Type", respType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// fail answers with a google.rpc.Status body in respType, as the OTLP
// specification requires for every 4xx and 5xx.
func (h *HTTPHandler) fail(w http.ResponseWriter, respType string, e *receiver.Error) {
	st := &spb.Status{Code: int32(e.Code), Message: e.Msg}
	var body []byte
	var err error
	if respType == contentTypeJSON {
		body, err = protojson.Marshal(st)
	} else {
		body, err = proto.Marshal(st)
	}
	if err != nil {
		body, respType = []byte(e.Msg), "text/plain; charset=utf-8"
	}
	e.SetRetryAfter(w.Header())
	w.Header().Set("Content-Type", respType)
	w.WriteHeader(e.Status)
	_, _ = w.Write(body)
}
