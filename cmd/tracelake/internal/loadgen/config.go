package loadgen

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/url"
	"time"
)

// Config says what load to send where. Zero values of Endpoint, Workers,
// SpansPerRequest and Lookups take their defaults.
type Config struct {
	// Protocol is how spans are sent: "grpc" or "http" (OTLP), "zipkin"
	// (Zipkin v2 JSON) or "jaeger-thrift" (Jaeger Thrift over HTTP); see
	// the Protocol constants.
	Protocol string
	// Endpoint is host:port for grpc ("127.0.0.1:4317") and a base URL for
	// the others: http's ("http://127.0.0.1:4318") gets /v1/traces added,
	// zipkin's ("http://127.0.0.1:9411") /api/v2/spans and
	// jaeger-thrift's ("http://127.0.0.1:14268") /api/traces. Empty takes
	// DefaultEndpoint(Protocol).
	Endpoint string
	// QueryURL is the Jaeger query API's base URL
	// ("http://127.0.0.1:16686"); empty skips the trace-by-ID phase.
	QueryURL string
	// MetricsURL is the server's Prometheus endpoint
	// ("http://127.0.0.1:14269/metrics"); empty leaves every server-side
	// figure unknown.
	MetricsURL string
	// Tenant is sent as the X-Scope-OrgID header (x-scope-orgid gRPC
	// metadata) on every request; empty sends none.
	Tenant string
	// Workers is how many requests are in flight at once (default 256).
	// A server that acknowledges only once a batch is durable answers each
	// request after up to its batch delay, so saturating it takes about
	// rate × delay / SpansPerRequest requests in flight: with 200ms and 100
	// spans, 300 for 150k spans/s.
	Workers int
	// Duration is how long to send.
	Duration time.Duration
	// Rate is the target of spans per second over all workers; 0 sends as
	// fast as the server acknowledges.
	Rate int
	// SpansPerRequest is the spans in each request (default 100), rounded
	// down to whole traces of two spans.
	SpansPerRequest int
	// Gzip compresses every request, once per send (IDs change per send, so
	// nothing can be compressed ahead).
	Gzip bool
	// Lookups is how many acknowledged trace IDs to fetch by ID after the
	// load (default 200).
	Lookups int
	// Seed makes the generated IDs reproducible. Two runs with one seed
	// against one server send the same IDs, so vary it between runs.
	Seed uint64
}

// The values of Config.Protocol.
const (
	// ProtocolGRPC is OTLP over gRPC.
	ProtocolGRPC = "grpc"
	// ProtocolHTTP is OTLP over HTTP, protobuf-encoded.
	ProtocolHTTP = "http"
	// ProtocolZipkin is Zipkin's v2 JSON over HTTP.
	ProtocolZipkin = "zipkin"
	// ProtocolJaegerThrift is Jaeger's Thrift over HTTP, binary-encoded,
	// as jaeger-client's HTTP sender posted it.
	ProtocolJaegerThrift = "jaeger-thrift"
)

// DefaultEndpoint is where protocol is sent when Config.Endpoint is
// empty: the port a local tracelake receives it on, as the collectors of
// OpenTelemetry, Zipkin and Jaeger do. It is "" for an unknown protocol.
func DefaultEndpoint(protocol string) string {
	switch protocol {
	case ProtocolGRPC:
		return "127.0.0.1:4317"
	case ProtocolHTTP:
		return "http://127.0.0.1:4318"
	case ProtocolZipkin:
		return "http://127.0.0.1:9411"
	case ProtocolJaegerThrift:
		return "http://127.0.0.1:14268"
	}
	return ""
}

// Defaults for the zero values of Config.
const (
	DefaultWorkers         = 256
	DefaultSpansPerRequest = 100
	DefaultLookups         = 200
)

// Validate reports the first thing wrong with c.
func (c Config) Validate() error {
	endpoint := cmp.Or(c.Endpoint, DefaultEndpoint(c.Protocol))
	switch c.Protocol {
	case ProtocolGRPC:
		if _, _, err := net.SplitHostPort(endpoint); err != nil {
			return fmt.Errorf("grpc endpoint %q: want host:port: %w", endpoint, err)
		}
	case ProtocolHTTP, ProtocolZipkin, ProtocolJaegerThrift:
		if err := checkURL(endpoint); err != nil {
			return fmt.Errorf("%s endpoint: %w", c.Protocol, err)
		}
	default:
		return fmt.Errorf("protocol %q: want %s, %s, %s or %s", c.Protocol,
			ProtocolGRPC, ProtocolHTTP, ProtocolZipkin, ProtocolJaegerThrift)
	}
	if c.QueryURL != "" {
		if err := checkURL(c.QueryURL); err != nil {
			return fmt.Errorf("query URL: %w", err)
		}
	}
	if c.MetricsURL != "" {
		if err := checkURL(c.MetricsURL); err != nil {
			return fmt.Errorf("metrics URL: %w", err)
		}
	}
	switch {
	case c.Workers < 0:
		return fmt.Errorf("workers must not be negative, got %d", c.Workers)
	case c.Duration <= 0:
		return fmt.Errorf("duration must be positive, got %s", c.Duration)
	case c.Rate < 0:
		return fmt.Errorf("rate must not be negative, got %d", c.Rate)
	case c.SpansPerRequest < 0 || c.SpansPerRequest == 1:
		return fmt.Errorf("spans per request must be at least %d, got %d", spansPerTrace, c.SpansPerRequest)
	case c.Lookups < 0:
		return fmt.Errorf("lookups must not be negative, got %d", c.Lookups)
	}
	return nil
}

func checkURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want an http:// or https:// URL with a host, got " + s)
	}
	return nil
}

// withDefaults returns c with its zero values replaced by the defaults.
func (c Config) withDefaults() Config {
	if c.Endpoint == "" {
		c.Endpoint = DefaultEndpoint(c.Protocol)
	}
	if c.Workers == 0 {
		c.Workers = DefaultWorkers
	}
	if c.SpansPerRequest == 0 {
		c.SpansPerRequest = DefaultSpansPerRequest
	}
	if c.Lookups == 0 {
		c.Lookups = DefaultLookups
	}
	return c
}
