package loadgen

import (
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	ok := Config{Protocol: "grpc", Endpoint: "127.0.0.1:4317", Duration: time.Second}
	tests := []struct {
		name    string
		edit    func(*Config)
		wantErr string
	}{
		{name: "grpc", edit: func(*Config) {}},
		{name: "http", edit: func(c *Config) {
			c.Protocol, c.Endpoint = "http", "http://127.0.0.1:4318"
			c.QueryURL, c.MetricsURL = "http://127.0.0.1:16686", "http://127.0.0.1:14269/metrics"
		}},
		{name: "zipkin", edit: func(c *Config) { c.Protocol, c.Endpoint = "zipkin", "http://127.0.0.1:9411" }},
		{name: "jaeger-thrift", edit: func(c *Config) { c.Protocol, c.Endpoint = "jaeger-thrift", "https://jaeger.example/" }},
		{name: "default grpc endpoint", edit: func(c *Config) { c.Endpoint = "" }},
		{name: "default zipkin endpoint", edit: func(c *Config) { c.Protocol, c.Endpoint = "zipkin", "" }},
		{name: "default jaeger endpoint", edit: func(c *Config) { c.Protocol, c.Endpoint = "jaeger-thrift", "" }},
		{name: "protocol", edit: func(c *Config) { c.Protocol = "thrift" }, wantErr: "protocol"},
		{name: "no protocol", edit: func(c *Config) { c.Protocol, c.Endpoint = "", "" }, wantErr: "protocol"},
		{name: "grpc URL", edit: func(c *Config) { c.Endpoint = "http://127.0.0.1:4317" }, wantErr: "host:port"},
		{name: "http host:port", edit: func(c *Config) { c.Protocol = "http" }, wantErr: "http endpoint"},
		{name: "zipkin host:port", edit: func(c *Config) { c.Protocol = "zipkin" }, wantErr: "zipkin endpoint"},
		{name: "jaeger host:port", edit: func(c *Config) { c.Protocol = "jaeger-thrift" }, wantErr: "jaeger-thrift endpoint"},
		{name: "query URL", edit: func(c *Config) { c.QueryURL = "127.0.0.1:16686" }, wantErr: "query URL"},
		{name: "metrics URL", edit: func(c *Config) { c.MetricsURL = "ftp://x/metrics" }, wantErr: "metrics URL"},
		{name: "duration", edit: func(c *Config) { c.Duration = 0 }, wantErr: "duration"},
		{name: "workers", edit: func(c *Config) { c.Workers = -1 }, wantErr: "workers"},
		{name: "rate", edit: func(c *Config) { c.Rate = -1 }, wantErr: "rate"},
		{name: "one span", edit: func(c *Config) { c.SpansPerRequest = 1 }, wantErr: "spans per request"},
		{name: "lookups", edit: func(c *Config) { c.Lookups = -1 }, wantErr: "lookups"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Validate() = %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Validate() = %v, want an error about %q", err, tt.wantErr)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if c.Workers != DefaultWorkers || c.SpansPerRequest != DefaultSpansPerRequest || c.Lookups != DefaultLookups {
		t.Fatalf("withDefaults() = %+v", c)
	}
	for protocol, want := range map[string]string{
		ProtocolGRPC:         "127.0.0.1:4317",
		ProtocolHTTP:         "http://127.0.0.1:4318",
		ProtocolZipkin:       "http://127.0.0.1:9411",
		ProtocolJaegerThrift: "http://127.0.0.1:14268",
		"thrift":             "",
	} {
		if got := DefaultEndpoint(protocol); got != want {
			t.Errorf("DefaultEndpoint(%q) = %q, want %q", protocol, got, want)
		}
		if got := (Config{Protocol: protocol}).withDefaults().Endpoint; got != want {
			t.Errorf("withDefaults() endpoint for %q = %q, want %q", protocol, got, want)
		}
		if got := (Config{Protocol: protocol, Endpoint: "x"}).withDefaults().Endpoint; got != "x" {
			t.Errorf("withDefaults() replaced endpoint x with %q", got)
		}
	}
}

func TestEndpointURL(t *testing.T) {
	tests := []struct{ base, path, want string }{
		{"http://127.0.0.1:4318", "/v1/traces", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:4318/", "/v1/traces", "http://127.0.0.1:4318/v1/traces"},
		{"https://otel.example/prefix", "/v1/traces", "https://otel.example/prefix/v1/traces"},
		{"http://127.0.0.1:4318/v1/traces", "/v1/traces", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:4318/v1/traces/", "/v1/traces", "http://127.0.0.1:4318/v1/traces"},
		{"http://127.0.0.1:9411", "/api/v2/spans", "http://127.0.0.1:9411/api/v2/spans"},
		{"http://127.0.0.1:9411/api/v2/spans", "/api/v2/spans", "http://127.0.0.1:9411/api/v2/spans"},
		{"http://127.0.0.1:14268/", "/api/traces", "http://127.0.0.1:14268/api/traces"},
	}
	for _, tt := range tests {
		if got := endpointURL(tt.base, tt.path); got != tt.want {
			t.Errorf("endpointURL(%q, %q) = %q, want %q", tt.base, tt.path, got, tt.want)
		}
	}
}
