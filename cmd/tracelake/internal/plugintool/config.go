package plugintool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tracelake/tracelake/wasm/abi"
	"github.com/tracelake/tracelake/wasm/host"
)

// PluginConfig says which plugin to load and how: the flags "plugin test"
// and "plugin bench" share.
type PluginConfig struct {
	// Path is the plugin's WebAssembly file.
	Path string
	// ConfigFile and ConfigString are the plugin's configuration, handed
	// to its tracelake_init as bytes; at most one may be set.
	ConfigFile   string
	ConfigString string
	// Policy is "fail-open" or "fail-closed" (host.ParsePolicy).
	Policy string
	// Timeout bounds one batch; MemoryLimitPages bounds an instance's
	// memory, in 64 KiB pages. Zero takes the host's defaults.
	Timeout          time.Duration
	MemoryLimitPages uint32
	// CacheDir keeps compiled plugins between runs, as ingest's does;
	// empty compiles on every run. Bench's load timings use fresh
	// directories of their own whatever it is.
	CacheDir string
}

// TestConfig configures Test.
type TestConfig struct {
	PluginConfig
	// Input is the file of spans to run the plugin over ("-": stdin); see
	// ReadTraces for the formats.
	Input string
	// BatchSize is the most spans passed to the plugin in one call; 0
	// passes the whole input in one.
	BatchSize int
	// Now is the time batches carry in their header; zero is the wall
	// clock. A fixed time makes time-dependent plugins reproducible.
	Now time.Time
	// JSON prints the report as JSON.
	JSON bool
}

// BenchConfig configures Bench.
type BenchConfig struct {
	PluginConfig
	// Input is a file of spans to benchmark with (see ReadTraces),
	// repeated or cut to each batch size; empty generates
	// telemetrygen-shaped spans.
	Input string
	// BatchSizes are the batch sizes to time, each for Duration.
	BatchSizes []int
	Duration   time.Duration
	// Baseline also times a plugin that keeps every span and does nothing
	// else, to tell the host's cost from the plugin's.
	Baseline bool
	// Instances is how many instances the instance-creation measurement
	// creates at load; ColdRuns how many times each load is timed.
	Instances int
	ColdRuns  int
	// Seed seeds the generated spans' IDs.
	Seed uint64
	// JSON prints the report as JSON.
	JSON bool
}

// DefaultBatchSizes are the batch sizes Bench times by default.
var DefaultBatchSizes = []int{64, 256, 1024, 4096}

// Defaults of the other bench flags.
const (
	DefaultBenchDuration = 2 * time.Second
	DefaultInstances     = 8
	DefaultColdRuns      = 3
)

func pluginFlags(fs *pflag.FlagSet, c *PluginConfig) {
	fs.StringVar(&c.Path, "plugin", "", "the plugin's WebAssembly module (required)")
	fs.StringVar(&c.ConfigFile, "config", "", "file whose bytes are the plugin's configuration, handed to its tracelake_init")
	fs.StringVar(&c.ConfigString, "config-string", "", "the plugin's configuration, given inline (instead of --config)")
	fs.StringVar(&c.Policy, "policy", "fail-open", "what a failed batch becomes: fail-open keeps its spans, fail-closed drops them")
	fs.DurationVar(&c.Timeout, "timeout", host.DefaultTimeout, "deadline of one batch")
	fs.Uint32Var(&c.MemoryLimitPages, "memory-limit-pages", host.DefaultMemoryLimitPages, "memory limit of one instance, in 64 KiB pages")
	fs.StringVar(&c.CacheDir, "cache-dir", "", "directory keeping compiled plugins between runs (default: compile every run)")
}

// TestFlags defines the flags of "tracelake plugin test" on fs and
// returns the configuration they fill in when fs is parsed.
func TestFlags(fs *pflag.FlagSet) *TestConfig {
	c := &TestConfig{}
	pluginFlags(fs, &c.PluginConfig)
	fs.StringVar(&c.Input, "input", "", "spans to run the plugin over: OTLP/JSON (one request, or one per line), an api_v3 trace answer or Jaeger UI JSON; - reads stdin (required)")
	fs.IntVar(&c.BatchSize, "batch-size", host.DefaultMaxBatchSpans, "most spans per plugin call, as ingest's max batch spans (0: the whole input in one call)")
	fs.Func("now", "time the batches carry, RFC 3339 (default: the wall clock)", func(s string) error {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return err
		}
		c.Now = t
		return nil
	})
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	return c
}

// BenchFlags defines the flags of "tracelake plugin bench" on fs and
// returns the configuration they fill in when fs is parsed.
func BenchFlags(fs *pflag.FlagSet) *BenchConfig {
	c := &BenchConfig{}
	pluginFlags(fs, &c.PluginConfig)
	fs.StringVar(&c.Input, "input", "", "spans to benchmark with, repeated or cut to each batch size (default: generated telemetrygen-shaped spans)")
	fs.IntSliceVar(&c.BatchSizes, "batch-sizes", slices.Clone(DefaultBatchSizes), "batch sizes to time")
	fs.DurationVar(&c.Duration, "duration", DefaultBenchDuration, "how long to time each batch size (and the baseline, as long again)")
	fs.BoolVar(&c.Baseline, "baseline", true, "also time a plugin that does nothing, to separate the host's cost from the plugin's")
	fs.IntVar(&c.Instances, "instances", DefaultInstances, "instances to create at load when timing instance creation")
	fs.IntVar(&c.ColdRuns, "cold-runs", DefaultColdRuns, "times each load is timed (the median is reported)")
	fs.Uint64Var(&c.Seed, "seed", uint64(time.Now().UnixNano()), "seed of the generated spans' IDs")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	return c
}

// Validate reports the first thing wrong with c.
func (c PluginConfig) Validate() error {
	if c.Path == "" {
		return errors.New("--plugin is required")
	}
	if c.ConfigFile != "" && c.ConfigString != "" {
		return errors.New("--config and --config-string are exclusive")
	}
	if _, err := host.ParsePolicy(c.Policy); err != nil {
		return err
	}
	if c.Timeout < 0 {
		return fmt.Errorf("--timeout %v is negative", c.Timeout)
	}
	return nil
}

// Validate reports the first thing wrong with c.
func (c TestConfig) Validate() error {
	if err := c.PluginConfig.Validate(); err != nil {
		return err
	}
	if c.Input == "" {
		return errors.New("--input is required")
	}
	if c.BatchSize < 0 {
		return fmt.Errorf("--batch-size %d is negative", c.BatchSize)
	}
	return nil
}

// Validate reports the first thing wrong with c.
func (c BenchConfig) Validate() error {
	if err := c.PluginConfig.Validate(); err != nil {
		return err
	}
	if len(c.BatchSizes) == 0 {
		return errors.New("--batch-sizes is empty")
	}
	for _, n := range c.BatchSizes {
		if n < 1 {
			return fmt.Errorf("--batch-sizes: %d is not a batch size", n)
		}
	}
	if c.Duration <= 0 {
		return fmt.Errorf("--duration %v is not positive", c.Duration)
	}
	if c.Instances < 2 {
		return fmt.Errorf("--instances %d: want at least 2, to tell instance creation from the rest of a load", c.Instances)
	}
	if c.ColdRuns < 1 {
		return fmt.Errorf("--cold-runs %d: want at least 1", c.ColdRuns)
	}
	return nil
}

// hostConfig reads the plugin's module and configuration.
func (c PluginConfig) hostConfig() (host.Config, error) {
	module, err := os.ReadFile(c.Path)
	if err != nil {
		return host.Config{}, fmt.Errorf("read plugin: %w", err)
	}
	var pluginCfg []byte
	switch {
	case c.ConfigFile != "":
		if pluginCfg, err = os.ReadFile(c.ConfigFile); err != nil {
			return host.Config{}, fmt.Errorf("read plugin configuration: %w", err)
		}
	case c.ConfigString != "":
		pluginCfg = []byte(c.ConfigString)
	}
	policy, err := host.ParsePolicy(c.Policy)
	if err != nil {
		return host.Config{}, err
	}
	return host.Config{
		Name:             strings.TrimSuffix(filepath.Base(c.Path), ".wasm"),
		Module:           module,
		PluginConfig:     pluginCfg,
		MemoryLimitPages: c.MemoryLimitPages,
		Timeout:          c.Timeout,
		Policy:           policy,
	}, nil
}

// PluginInfo describes the plugin a report is about.
type PluginInfo struct {
	Path string `json:"path"`
	Name string `json:"name"`
	// ModuleBytes is the module's size; ConfigBytes its configuration's.
	ModuleBytes int `json:"module_bytes"`
	ConfigBytes int `json:"config_bytes"`
	// Features are what the plugin reads: "span attributes", "resource
	// attributes" (tracelake_features; both without the export).
	Features []string `json:"features"`
	Policy   string   `json:"policy"`
}

func pluginInfo(path string, cfg host.Config, features uint32) PluginInfo {
	info := PluginInfo{Path: path, Name: cfg.Name, ModuleBytes: len(cfg.Module),
		ConfigBytes: len(cfg.PluginConfig), Policy: cfg.Policy.String(), Features: []string{}}
	if features&abi.FeatureSpanAttributes != 0 {
		info.Features = append(info.Features, "span attributes")
	}
	if features&abi.FeatureResourceAttributes != 0 {
		info.Features = append(info.Features, "resource attributes")
	}
	return info
}

func (i PluginInfo) featureText() string {
	if len(i.Features) == 0 {
		return "reads no attributes"
	}
	return "reads " + strings.Join(i.Features, " and ")
}
