package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/go-viper/mapstructure/v2"
	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/storage/tenant"
)

// Config is every setting of the binary. Each field's koanf tag is its key
// in the YAML file; the flag is --<key> and the environment variable is
// TRACELAKE_<KEY> with dots and dashes as underscores.
type Config struct {
	Storage         StorageConfig   `koanf:"storage"`
	Log             LogConfig       `koanf:"log"`
	Tenant          TenantConfig    `koanf:"tenant"`
	Admin           AdminConfig     `koanf:"admin"`
	Ingest          IngestConfig    `koanf:"ingest"`
	Query           QueryConfig     `koanf:"query"`
	Zipkin          ZipkinConfig    `koanf:"zipkin"`
	Plugins         PluginsConfig   `koanf:"plugins"`
	Compactor       CompactorConfig `koanf:"compactor"`
	ShutdownTimeout time.Duration   `koanf:"shutdown-timeout"`

	// configFile is the YAML file the configuration came from, if any:
	// sampling plugin chains are read (and re-read, for hot reload) from
	// it directly.
	configFile string
}

// PluginsConfig holds the sampling plugin settings that are plain keys;
// the chains themselves (plugins.default, plugins.tenants) are lists that
// only the YAML file can hold, read by readPluginChains.
type PluginsConfig struct {
	CacheDir     string        `koanf:"cache-dir"`
	PollInterval time.Duration `koanf:"poll-interval"`
}

// CompactorConfig tunes compaction (the compact role, and the
// background compactor of the all-in-one).
type CompactorConfig struct {
	Enabled       bool          `koanf:"enabled"`
	Interval      time.Duration `koanf:"interval"`
	Settle        time.Duration `koanf:"settle"`
	Grace         time.Duration `koanf:"grace"`
	LeaseTTL      time.Duration `koanf:"lease-ttl"`
	MaxBlockBytes ByteSize      `koanf:"max-block-bytes"`
	TempDir       string        `koanf:"temp-dir"`
}

type StorageConfig struct {
	URL string `koanf:"url"`
}

type LogConfig struct {
	Level  string `koanf:"level"`
	Format string `koanf:"format"`
}

type TenantConfig struct {
	Header  string `koanf:"header"`
	Default string `koanf:"default"`
}

type AdminConfig struct {
	Addr string `koanf:"addr"`
}

type IngestConfig struct {
	OTLP            OTLPConfig     `koanf:"otlp"`
	Jaeger          JaegerConfig   `koanf:"jaeger"`
	Sampling        SamplingConfig `koanf:"sampling"`
	MaxRequestBytes ByteSize       `koanf:"max-request-bytes"`
	Batch           BatchConfig    `koanf:"batch"`
	Limits          LimitsConfig   `koanf:"limits"`
}

type LimitsConfig struct {
	MaxSpansPerRequest      int      `koanf:"max-spans-per-request"`
	MaxAttributes           int      `koanf:"max-attributes"`
	MaxAttributeValueLength ByteSize `koanf:"max-attribute-value-length"`
	MaxEventsPerSpan        int      `koanf:"max-events-per-span"`
	MaxLinksPerSpan         int      `koanf:"max-links-per-span"`
}

type OTLPConfig struct {
	GRPCAddr string `koanf:"grpc-addr"`
	HTTPAddr string `koanf:"http-addr"`
}

type JaegerConfig struct {
	GRPCAddr         string `koanf:"grpc-addr"`
	ThriftHTTPAddr   string `koanf:"thrift-http-addr"`
	AgentCompactAddr string `koanf:"agent-compact-addr"`
	AgentBinaryAddr  string `koanf:"agent-binary-addr"`
}

type SamplingConfig struct {
	HTTPAddr       string `koanf:"http-addr"`
	StrategiesFile string `koanf:"strategies-file"`
}

// ZipkinConfig is Zipkin's port, which like Zipkin's own server both
// receives spans (in roles that ingest) and answers the query API (in
// roles that query).
type ZipkinConfig struct {
	HTTPAddr         string   `koanf:"http-addr"`
	AutocompleteKeys []string `koanf:"autocomplete-keys"`
}

type BatchConfig struct {
	MaxBytes             ByteSize      `koanf:"max-bytes"`
	MaxDelay             time.Duration `koanf:"max-delay"`
	MaxPendingBytes      ByteSize      `koanf:"max-pending-bytes"`
	MaxConcurrentFlushes int           `koanf:"max-concurrent-flushes"`
	FlushTimeout         time.Duration `koanf:"flush-timeout"`
}

type QueryConfig struct {
	HTTPAddr         string        `koanf:"http-addr"`
	Concurrency      int           `koanf:"concurrency"`
	TraceSlack       time.Duration `koanf:"trace-slack"`
	ServicesLookback time.Duration `koanf:"services-lookback"`
	MaxLimit         int           `koanf:"max-limit"`
	TraceIndexCache  ByteSize      `koanf:"trace-index-cache"`
	BlockIndexCache  ByteSize      `koanf:"block-index-cache"`
}

// ByteSize is a size in bytes, written in files, flags and the environment
// as "8MiB", "512KB" or a plain number.
type ByteSize int64

func (b ByteSize) String() string { return humanize.IBytes(uint64(b)) }

// DefaultConfig is the all-in-one on a laptop: local storage under ./data.
func DefaultConfig() Config {
	return Config{
		Storage: StorageConfig{URL: "./data"},
		Log:     LogConfig{Level: "info", Format: "text"},
		Tenant:  TenantConfig{Header: "X-Scope-OrgID", Default: tenant.Default},
		Admin:   AdminConfig{Addr: ":14269"},
		Ingest: IngestConfig{
			OTLP: OTLPConfig{GRPCAddr: ":4317", HTTPAddr: ":4318"},
			Jaeger: JaegerConfig{
				GRPCAddr:         ":14250",
				ThriftHTTPAddr:   ":14268",
				AgentCompactAddr: ":6831",
				AgentBinaryAddr:  ":6832",
			},
			Sampling:        SamplingConfig{HTTPAddr: ":5778"},
			MaxRequestBytes: 16 << 20,
			Batch: BatchConfig{
				MaxBytes:             16 << 20,
				MaxDelay:             200 * time.Millisecond,
				MaxPendingBytes:      128 << 20,
				MaxConcurrentFlushes: 4,
				FlushTimeout:         30 * time.Second,
			},
			Limits: LimitsConfig{
				MaxSpansPerRequest:      pipeline.DefaultLimits().MaxSpansPerRequest,
				MaxAttributes:           pipeline.DefaultLimits().MaxAttributes,
				MaxAttributeValueLength: ByteSize(pipeline.DefaultLimits().MaxAttributeValueLength),
				MaxEventsPerSpan:        pipeline.DefaultLimits().MaxEventsPerSpan,
				MaxLinksPerSpan:         pipeline.DefaultLimits().MaxLinksPerSpan,
			},
		},
		Query: QueryConfig{
			HTTPAddr:         ":16686",
			Concurrency:      8,
			TraceSlack:       time.Hour,
			ServicesLookback: 7 * 24 * time.Hour,
			MaxLimit:         1500,
			TraceIndexCache:  64 << 20,
			BlockIndexCache:  1 << 30,
		},
		Compactor: CompactorConfig{
			Enabled:       true,
			Interval:      time.Minute,
			Settle:        5 * time.Minute,
			Grace:         15 * time.Minute,
			LeaseTTL:      5 * time.Minute,
			MaxBlockBytes: 1 << 30,
		},
		Zipkin:          ZipkinConfig{HTTPAddr: ":9411", AutocompleteKeys: []string{}},
		Plugins:         PluginsConfig{PollInterval: 10 * time.Second},
		ShutdownTimeout: 30 * time.Second,
	}
}

// settingHelp documents every key; a key missing here is a bug that
// TestEveryKeyIsDocumented catches.
var settingHelp = map[string]string{
	"storage.url":                              "where spans are stored: a directory (./data, file:///var/lib/tracelake) or s3://bucket[/prefix]?endpoint=host:port&region=…&insecure=true (credentials from AWS_* or MINIO_* variables, ~/.aws, or the instance role)",
	"log.level":                                "log level: debug, info, warn or error",
	"log.format":                               "log format: text or json",
	"tenant.header":                            "request header (gRPC metadata key) naming the tenant",
	"tenant.default":                           "tenant of requests that name none",
	"admin.addr":                               "address serving /metrics, /healthz, /readyz and /debug/pprof",
	"ingest.otlp.grpc-addr":                    "OTLP/gRPC listen address (empty disables it)",
	"ingest.otlp.http-addr":                    "OTLP/HTTP listen address (empty disables it)",
	"ingest.jaeger.grpc-addr":                  "Jaeger gRPC: CollectorService/PostSpans and the SamplingManager (empty disables it)",
	"ingest.jaeger.thrift-http-addr":           "Jaeger Thrift over HTTP, POST /api/traces (empty disables it)",
	"ingest.jaeger.agent-compact-addr":         "Jaeger agent UDP port for compact Thrift emitBatch (empty disables it)",
	"ingest.jaeger.agent-binary-addr":          "Jaeger agent UDP port for binary Thrift emitBatch (empty disables it)",
	"ingest.sampling.http-addr":                "Jaeger remote sampling over HTTP, GET /?service= and /sampling?service= (empty disables it)",
	"ingest.sampling.strategies-file":          "Jaeger-format sampling strategies file, reloaded when it changes (empty: probabilistic 0.001 for every service)",
	"zipkin.http-addr":                         "Zipkin API port: POST /api/v2/spans and /api/v1/spans where the role ingests, the /api/v2 query API where it queries (empty disables it)",
	"zipkin.autocomplete-keys":                 "span tag keys whose values Zipkin's /api/v2/autocompleteValues lists (comma-separated)",
	"plugins.cache-dir":                        "where compiled sampling plugins are cached between starts (empty: the user cache directory, else the temporary directory; \"memory\": not on disk)",
	"plugins.poll-interval":                    "how often the configuration file and plugin sources are checked for changes to reload sampling plugins",
	"ingest.max-request-bytes":                 "largest request body accepted, compressed or not",
	"ingest.batch.max-bytes":                   "flush a tenant's batch once it holds this many bytes of spans",
	"ingest.batch.max-delay":                   "flush a batch this long after its first request at the latest (the added latency of an export)",
	"ingest.batch.max-pending-bytes":           "memory bound for spans waiting to be stored; past it requests get a retryable 429 / RESOURCE_EXHAUSTED",
	"ingest.batch.max-concurrent-flushes":      "object writes in progress at once",
	"ingest.batch.flush-timeout":               "time limit of one object write",
	"ingest.limits.max-spans-per-request":      "requests with more spans are refused (413 / INVALID_ARGUMENT); 0 disables",
	"ingest.limits.max-attributes":             "attributes kept per span, resource, scope, event and link; the rest are dropped and counted in dropped_attributes_count (OTel SDK default 128); 0 disables",
	"ingest.limits.max-attribute-value-length": "string and bytes attribute values are cut to this length; 0 disables",
	"ingest.limits.max-events-per-span":        "events kept per span, the rest counted in dropped_events_count; 0 disables",
	"ingest.limits.max-links-per-span":         "links kept per span, the rest counted in dropped_links_count; 0 disables",
	"query.http-addr":                          "query API listen address (Jaeger HTTP API and api_v3)",
	"query.concurrency":                        "files one query reads in parallel",
	"query.trace-slack":                        "how far outside a search's time window the spans of matched traces are looked for",
	"query.services-lookback":                  "how far back the services and operations lists look",
	"query.max-limit":                          "most traces one search may return",
	"query.trace-index-cache":                  "memory for per-file trace ID indexes (about 1.4 bytes per span), so lookups by trace ID open only the files that may hold the trace",
	"query.block-index-cache":                  "memory for the blocks' trace indexes, ID tables and bloom filters (about 370 bytes per trace of ten spans), each read once per block: searches stay fast while the blocks of the usual search window fit",
	"compactor.enabled":                        "run the compactor in the background of the all-in-one (the compact role always runs it)",
	"compactor.interval":                       "how often the compactor looks for windows to compact and files to delete",
	"compactor.settle":                         "how long after an hour ends its ingest files are compacted (down to -1h: compact the hour in progress, each pass making a block of what arrived)",
	"compactor.grace":                          "how long compacted ingest files are kept after their block is published, for queries that listed them",
	"compactor.lease-ttl":                      "how long a compactor owns a window without renewing; another takes over after it",
	"compactor.max-block-bytes":                "input bytes of one block at most; a larger window becomes several blocks",
	"compactor.temp-dir":                       "where a block is written before upload (empty: the system temporary directory)",
	"shutdown-timeout":                         "how long a stopping process may take to flush pending spans and finish requests",
}

// flagAliases are short flag names for common keys.
var flagAliases = map[string]string{"storage": "storage.url"}

func envName(key string) string {
	return "TRACELAKE_" + strings.ToUpper(strings.NewReplacer(".", "_", "-", "_").Replace(key))
}

// loadConfig builds the configuration from, in increasing precedence:
// defaults, the YAML file named by --config (or TRACELAKE_CONFIG),
// TRACELAKE_* environment variables, and flags.
func loadConfig(fs *pflag.FlagSet, args []string, getenv func(string) string) (Config, error) {
	k := koanf.New(".")
	def := DefaultConfig()
	if err := k.Load(structs.Provider(def, "koanf"), nil); err != nil {
		return Config{}, fmt.Errorf("load defaults: %w", err)
	}
	keys := k.Keys()

	configPath := fs.String("config", getenv("TRACELAKE_CONFIG"), "YAML configuration file")
	for _, key := range keys {
		fs.String(key, fmt.Sprint(k.Get(key)), settingHelp[key]+" (env "+envName(key)+")")
	}
	for alias, key := range flagAliases {
		fs.String(alias, "", "same as --"+key)
	}
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	if *configPath != "" {
		if _, err := os.Stat(*configPath); err != nil {
			return Config{}, fmt.Errorf("config file: %w", err)
		}
		if err := k.Load(file.Provider(*configPath), yaml.Parser()); err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", *configPath, err)
		}
	}
	for _, key := range keys {
		if v := getenv(envName(key)); v != "" {
			if err := k.Set(key, v); err != nil {
				return Config{}, err
			}
		}
	}
	var flagErr error
	fs.Visit(func(f *pflag.Flag) {
		key := f.Name
		if alias, ok := flagAliases[key]; ok {
			key = alias
		}
		if !slices.Contains(keys, key) {
			return // --config
		}
		if err := k.Set(key, f.Value.String()); err != nil && flagErr == nil {
			flagErr = err
		}
	})
	if flagErr != nil {
		return Config{}, flagErr
	}

	// The plugin chains are lists of mappings keyed by tenant ID, which may
	// contain dots; they are read from the file by readPluginChains, not
	// through koanf's dotted keys.
	k.Delete("plugins.default")
	k.Delete("plugins.tenants")

	cfg := def
	cfg.configFile = *configPath
	err := k.UnmarshalWithConf("", &cfg, koanf.UnmarshalConf{DecoderConfig: &mapstructure.DecoderConfig{
		DecodeHook: mapstructure.ComposeDecodeHookFunc(
			mapstructure.StringToTimeDurationHookFunc(),
			mapstructure.StringToSliceHookFunc(","),
			byteSizeHook,
		),
		ErrorUnused:      true,
		WeaklyTypedInput: true,
		Result:           &cfg,
		TagName:          "koanf",
	}})
	if err != nil {
		return Config{}, fmt.Errorf("configuration: %w", err)
	}
	return cfg, cfg.Validate()
}

func byteSizeHook(from, to reflect.Type, data any) (any, error) {
	if to != reflect.TypeOf(ByteSize(0)) || from.Kind() != reflect.String {
		return data, nil
	}
	n, err := humanize.ParseBytes(data.(string))
	if err != nil {
		return nil, fmt.Errorf("%q is not a size (try 16MiB or 512KB)", data)
	}
	return ByteSize(n), nil
}

// Validate checks every setting and names each that is wrong.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Storage.URL == "" {
		bad("storage.url", "must be set")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.Log.Level) {
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	if c.Tenant.Header == "" {
		bad("tenant.header", "must be set")
	}
	if err := tenant.Validate(c.Tenant.Default); err != nil {
		bad("tenant.default", "%v", err)
	}
	for key, addr := range map[string]string{
		"admin.addr":                       c.Admin.Addr,
		"ingest.otlp.grpc-addr":            c.Ingest.OTLP.GRPCAddr,
		"ingest.otlp.http-addr":            c.Ingest.OTLP.HTTPAddr,
		"ingest.jaeger.grpc-addr":          c.Ingest.Jaeger.GRPCAddr,
		"ingest.jaeger.thrift-http-addr":   c.Ingest.Jaeger.ThriftHTTPAddr,
		"ingest.jaeger.agent-compact-addr": c.Ingest.Jaeger.AgentCompactAddr,
		"ingest.jaeger.agent-binary-addr":  c.Ingest.Jaeger.AgentBinaryAddr,
		"ingest.sampling.http-addr":        c.Ingest.Sampling.HTTPAddr,
		"zipkin.http-addr":                 c.Zipkin.HTTPAddr,
		"query.http-addr":                  c.Query.HTTPAddr,
	} {
		if addr == "" && key != "admin.addr" && key != "query.http-addr" {
			continue // receivers may be disabled
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(key, "%q is not host:port (%v)", addr, err)
		}
	}
	b := c.Ingest.Batch
	if c.Ingest.MaxRequestBytes <= 0 {
		bad("ingest.max-request-bytes", "must be positive")
	}
	if b.MaxBytes <= 0 {
		bad("ingest.batch.max-bytes", "must be positive")
	}
	if b.MaxDelay < 0 {
		bad("ingest.batch.max-delay", "must not be negative")
	}
	if b.MaxPendingBytes < b.MaxBytes || b.MaxPendingBytes < 2*c.Ingest.MaxRequestBytes {
		bad("ingest.batch.max-pending-bytes", "%s must be at least ingest.batch.max-bytes (%s) and twice ingest.max-request-bytes (%s)", b.MaxPendingBytes, b.MaxBytes, c.Ingest.MaxRequestBytes)
	}
	if b.MaxConcurrentFlushes <= 0 {
		bad("ingest.batch.max-concurrent-flushes", "must be positive")
	}
	if b.FlushTimeout <= 0 {
		bad("ingest.batch.flush-timeout", "must be positive")
	}
	for key, v := range map[string]int64{
		"ingest.limits.max-spans-per-request":      int64(c.Ingest.Limits.MaxSpansPerRequest),
		"ingest.limits.max-attributes":             int64(c.Ingest.Limits.MaxAttributes),
		"ingest.limits.max-attribute-value-length": int64(c.Ingest.Limits.MaxAttributeValueLength),
		"ingest.limits.max-events-per-span":        int64(c.Ingest.Limits.MaxEventsPerSpan),
		"ingest.limits.max-links-per-span":         int64(c.Ingest.Limits.MaxLinksPerSpan),
	} {
		if v < 0 {
			bad(key, "must not be negative (0 disables the limit)")
		}
	}
	if c.Query.Concurrency <= 0 {
		bad("query.concurrency", "must be positive")
	}
	if c.Query.TraceSlack < 0 {
		bad("query.trace-slack", "must not be negative")
	}
	if c.Query.ServicesLookback <= 0 {
		bad("query.services-lookback", "must be positive")
	}
	if c.Query.MaxLimit <= 0 {
		bad("query.max-limit", "must be positive")
	}
	if c.Query.TraceIndexCache < 0 {
		bad("query.trace-index-cache", "must not be negative")
	}
	if c.Query.BlockIndexCache < 0 {
		bad("query.block-index-cache", "must not be negative")
	}
	for key, d := range map[string]time.Duration{"compactor.interval": c.Compactor.Interval, "compactor.lease-ttl": c.Compactor.LeaseTTL} {
		if d <= 0 {
			bad(key, "must be positive")
		}
	}
	if c.Compactor.Grace < 0 {
		bad("compactor.grace", "must not be negative")
	}
	if c.Compactor.Settle < -time.Hour {
		bad("compactor.settle", "must be at least -1h")
	}
	if c.Compactor.MaxBlockBytes <= 0 {
		bad("compactor.max-block-bytes", "must be positive")
	}
	if c.ShutdownTimeout <= 0 {
		bad("shutdown-timeout", "must be positive")
	}
	if c.Plugins.PollInterval <= 0 {
		bad("plugins.poll-interval", "must be positive")
	}
	if len(errs) > 0 {
		return fmt.Errorf("invalid configuration:\n  %w", joinLines(errs))
	}
	return nil
}

func joinLines(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	slices.Sort(msgs)
	return errors.New(strings.Join(msgs, "\n  "))
}
