package sampling

import "github.com/prometheus/client_golang/prometheus"

// Label values of tracelake_sampling_requests_total.
const (
	endpointSampling = "sampling" // GET /sampling
	endpointLegacy   = "legacy"   // GET /
	endpointGRPC     = "grpc"

	resultOK         = "ok"
	resultBadRequest = "bad_request"
	resultError      = "error"
)

type metrics struct {
	reloads             *prometheus.CounterVec
	lastReloadOK        prometheus.Gauge
	lastReloadOKSeconds prometheus.Gauge
	info                *prometheus.GaugeVec
	services            prometheus.Gauge
	requests            *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_sampling_strategies_reloads_total",
			Help: "Loads of the sampling strategies file, by result (success, failure); the first load counts.",
		}, []string{"result"}),
		lastReloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracelake_sampling_strategies_last_reload_successful",
			Help: "1 if the last attempt to load a changed sampling strategies file succeeded, 0 if the previous strategies are still served because it failed.",
		}),
		lastReloadOKSeconds: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracelake_sampling_strategies_last_reload_success_timestamp_seconds",
			Help: "Unix time of the last successful load of the sampling strategies.",
		}),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "tracelake_sampling_strategies_info",
			Help: "The sampling strategies being served: the file's path (empty for the built-in default) and the SHA-256 of its content. Always 1.",
		}, []string{"path", "sha256"}),
		services: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "tracelake_sampling_strategies_services",
			Help: "Services with a strategy of their own in the strategies being served.",
		}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_sampling_requests_total",
			Help: "Sampling strategy requests, by endpoint (sampling, legacy, grpc) and result (ok, bad_request, error).",
		}, []string{"endpoint", "result"}),
	}
	for _, r := range []string{"success", "failure"} {
		m.reloads.WithLabelValues(r)
	}
	reg.MustRegister(m.reloads, m.lastReloadOK, m.lastReloadOKSeconds, m.info, m.services, m.requests)
	return m
}
