package zipkin

import (
	"fmt"
	"log/slog"
	"mime"
	"net/http"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/functions/receiver"
)

// jsonTypes are the Content-Types read as JSON besides application/json.
// Zipkin's own collector reads every type it has no decoder for as JSON;
// we take the ones clients are seen to send (none; text/plain; curl -d's
// default) and answer 415 to the rest, which are more likely mistakes.
var jsonTypes = map[string]bool{
	"":                                  true,
	"application/json":                  true,
	"text/plain":                        true,
	"application/x-www-form-urlencoded": true,
}

// Handler serves Zipkin span uploads: POST /api/v2/spans and
// POST /api/v1/spans.
type Handler struct {
	cfg     Config
	tenants receiver.Tenants
	next    pipeline.Consumer
	logger  *slog.Logger
	bodies  *receiver.Bodies
}

// NewHandler returns a handler feeding next.
func NewHandler(cfg Config, next pipeline.Consumer, logger *slog.Logger) *Handler {
	return &Handler{
		cfg:     cfg,
		tenants: receiver.Tenants{Header: cfg.TenantHeader, Default: cfg.DefaultTenant},
		next:    next,
		logger:  logger,
		bodies:  receiver.NewBodies(cfg.MaxRequestBytes),
	}
}

// Register adds the upload routes to mux. They are POST-only patterns, so
// the Zipkin query API can serve GET on the same paths (GET
// /api/v2/spans lists span names) and mux answers other methods with 405
// and an Allow header.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc(http.MethodPost+" "+PathV2, h.serveV2)
	mux.HandleFunc(http.MethodPost+" "+PathV1, h.serveV1)
}

// A route is one upload path: a JSON format and a binary one.
type route struct {
	json, binary *format
}

var (
	routeV2 = route{json: v2JSON, binary: v2Proto}
	routeV1 = route{json: v1JSON, binary: v1Thrift}
)

// format returns the format a Content-Type asks for, nil if none.
func (rt route) format(contentType string) *format {
	mediaType := ""
	if contentType != "" {
		var err error
		if mediaType, _, err = mime.ParseMediaType(contentType); err != nil {
			return nil
		}
	}
	switch {
	case mediaType == rt.binary.mediaType:
		return rt.binary
	case jsonTypes[mediaType]:
		return rt.json
	}
	return nil
}

func (h *Handler) serveV2(w http.ResponseWriter, r *http.Request) { h.serve(w, r, routeV2) }
func (h *Handler) serveV1(w http.ResponseWriter, r *http.Request) { h.serve(w, r, routeV1) }

func (h *Handler) serve(w http.ResponseWriter, r *http.Request, rt route) {
	f := rt.format(r.Header.Get("Content-Type"))
	if f == nil {
		receiver.UnsupportedMediaType("unsupported Content-Type %q on %s; use %s or %s",
			r.Header.Get("Content-Type"), r.URL.Path, rt.json.mediaType, rt.binary.mediaType).WriteText(w)
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
	if len(body) == 0 {
		// Zipkin's collector accepts an empty body as an empty list.
		w.WriteHeader(http.StatusAccepted)
		return
	}
	if f.misdirected != nil {
		if why := f.misdirected(body); why != "" {
			receiver.BadRequest("request body is not %s: %s", f.what, why).WriteText(w)
			return
		}
	}
	td, err := f.decode(body)
	release() // decoded: the wait for storage need not hold the wire bytes
	if err != nil {
		receiver.BadRequest("request body is not %s: %v", f.what, err).WriteText(w)
		return
	}
	total := td.SpanCount()
	if total == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}

	res, err := h.next.Consume(r.Context(), f.protocol, tenantID, td)
	if err != nil {
		if herr := receiver.ConsumeError(r.Context(), err, h.logger, f.protocol); herr != nil {
			herr.WriteText(w)
		}
		return
	}
	if res.Rejected > 0 {
		// Zipkin has no partial success. A 202 would hide the loss; a 400
		// tells the sender, and Zipkin clients do not resend on 400, so
		// the stored spans are not duplicated.
		sampled := ""
		if res.SampledOut > 0 {
			sampled = fmt.Sprintf(" (%d more sampled out)", res.SampledOut)
		}
		receiver.BadRequest("stored %d of %d spans%s; rejected %d: %s",
			res.Accepted, total, sampled, res.Rejected, res.RejectMessage).WriteText(w)
		return
	}
	w.WriteHeader(http.StatusAccepted)
}
