package sampling

import (
	"log/slog"
	"net/http"
)

// NewHTTPHandler returns the remote-sampling HTTP API that Jaeger serves on
// port 5778:
//
//   - GET /sampling?service=NAME answers the api_v2 SamplingStrategyResponse
//     in proto JSON, strategyType as the enum name ("PROBABILISTIC").
//   - GET /?service=NAME answers the same response in the legacy Thrift JSON,
//     strategyType as its integer code (0), for SDKs built on Thrift 0.9.2.
//
// The service parameter must appear exactly once (it may be empty: that
// service gets the default strategy, as in Jaeger); else 400. Other
// methods get 405, other paths 404. Mount it at the root of its own
// listener, or behind http.StripPrefix.
func NewHTTPHandler(p *Provider, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &httpHandler{p: p, logger: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, endpointLegacy) })
	mux.HandleFunc("GET /sampling", func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, endpointSampling) })
	return mux
}

type httpHandler struct {
	p      *Provider
	logger *slog.Logger
}

func (h *httpHandler) serve(w http.ResponseWriter, r *http.Request, endpoint string) {
	requests := h.p.metrics.requests
	services := r.URL.Query()["service"]
	if len(services) != 1 {
		requests.WithLabelValues(endpoint, resultBadRequest).Inc()
		// Jaeger's words, which SDKs log verbatim.
		http.Error(w, "'service' parameter must be provided once", http.StatusBadRequest)
		return
	}
	body, err := encodeJSON(h.p.lookup(services[0]), endpoint == endpointLegacy)
	if err != nil {
		// Cannot happen with validated strategies; kept for providers
		// that will compute them.
		requests.WithLabelValues(endpoint, resultError).Inc()
		h.logger.Error("encode sampling strategy", "service", services[0], "endpoint", endpoint, "err", err)
		http.Error(w, "cannot marshal the sampling strategy to JSON", http.StatusInternalServerError)
		return
	}
	requests.WithLabelValues(endpoint, resultOK).Inc()
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}
