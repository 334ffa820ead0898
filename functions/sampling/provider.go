package sampling

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"github.com/prometheus/client_golang/prometheus"
)

// maxFileBytes bounds how much of a strategies file is read. Real files
// are kilobytes; this only stops a wrong path (a log, a device) from
// being read into memory every few seconds.
const maxFileBytes = 32 << 20

// Reload timing: the defaults of Provider fields that tests shorten.
const (
	// defaultPollInterval is how often the file is re-read even when no
	// change was notified: the safety net for file systems and mounts
	// whose changes fsnotify does not see (NFS, some FUSE and overlay
	// mounts, a symlink into another directory).
	defaultPollInterval = 10 * time.Second
	// defaultDebounce is how long to wait after the first change
	// notification before reading, so that a file being written in
	// several steps is read once, complete.
	defaultDebounce = 100 * time.Millisecond
)

// Provider serves the sampling strategies of one strategies file and
// reloads them when the file changes. Its methods are safe for concurrent
// use; every request sees either the strategies before a reload or those
// after it, never a mix.
type Provider struct {
	path    string
	logger  *slog.Logger
	metrics *metrics
	now     func() time.Time

	current atomic.Pointer[loaded]
	running atomic.Bool

	// lastSeen is what the last load attempt saw: the SHA-256 of the
	// content, or the read error. A reload does nothing while it is
	// unchanged, so an unchanged bad file is reported once, not on every
	// poll. Only the goroutine running Run touches it after NewProvider.
	lastSeen string

	pollInterval time.Duration
	debounce     time.Duration
	useWatcher   bool
}

// loaded is what a Provider serves: swapped as one pointer.
type loaded struct {
	strategies *Strategies
	sha256     string
}

// NewProvider returns a provider of the strategies in the file at path,
// or of DefaultStrategies when path is empty. The file must exist and be
// valid: a service that starts with strategies other than those it was
// given would be worse than one that does not start. Call Run to reload
// the file when it changes; without Run it is read once.
//
// Metrics are registered with reg (none if reg is nil).
func NewProvider(path string, logger *slog.Logger, reg prometheus.Registerer) (*Provider, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	p := &Provider{
		path:         path,
		logger:       logger,
		metrics:      newMetrics(reg),
		now:          time.Now,
		pollInterval: defaultPollInterval,
		debounce:     defaultDebounce,
		useWatcher:   true,
	}
	if path == "" {
		p.logger.Info("no sampling strategies file configured; every service is told to sample probabilistically", "probability", DefaultSamplingProbability)
		p.store(&loaded{strategies: DefaultStrategies()})
		return p, nil
	}
	data, err := readStrategiesFile(path)
	if err != nil {
		p.metrics.reloads.WithLabelValues("failure").Inc()
		return nil, err
	}
	sum := sha256.Sum256(data)
	p.lastSeen = hex.EncodeToString(sum[:])
	s, err := ParseStrategies(data)
	if err != nil {
		p.metrics.reloads.WithLabelValues("failure").Inc()
		return nil, fmt.Errorf("sampling strategies file %s: %w", path, err)
	}
	p.store(&loaded{strategies: s, sha256: p.lastSeen})
	p.logger.Info("sampling strategies loaded", "path", path, "sha256", p.lastSeen, "services", len(s.services))
	p.warnRateLimitsIgnored(s)
	return p, nil
}

// GetSamplingStrategy returns the strategy for service: its own if the
// strategies name it, else the default one. The result is the caller's to
// modify. The error is always nil today; it is there for providers that
// will compute strategies (adaptive sampling).
func (p *Provider) GetSamplingStrategy(service string) (*api_v2.SamplingStrategyResponse, error) {
	return p.current.Load().strategies.Strategy(service), nil
}

// lookup returns the shared, read-only response for service.
func (p *Provider) lookup(service string) *api_v2.SamplingStrategyResponse {
	return p.current.Load().strategies.lookup(service)
}

func (p *Provider) store(l *loaded) {
	p.current.Store(l)
	p.metrics.reloads.WithLabelValues("success").Inc()
	p.metrics.lastReloadOK.Set(1)
	p.metrics.lastReloadOKSeconds.Set(float64(p.now().UnixNano()) / 1e9)
	p.metrics.info.Reset()
	p.metrics.info.WithLabelValues(p.path, l.sha256).Set(1)
	p.metrics.services.Set(float64(len(l.strategies.services)))
}

// reload reads the file and, if its content changed since the last
// attempt, parses it and swaps it in. A file that cannot be read or is
// invalid leaves the strategies being served as they are.
func (p *Provider) reload() {
	data, err := readStrategiesFile(p.path)
	seen := ""
	if err != nil {
		seen = "error: " + err.Error()
	} else {
		sum := sha256.Sum256(data)
		seen = hex.EncodeToString(sum[:])
	}
	if seen == p.lastSeen {
		return
	}
	p.lastSeen = seen
	if err == nil {
		var s *Strategies
		if s, err = ParseStrategies(data); err == nil {
			p.store(&loaded{strategies: s, sha256: seen})
			p.logger.Info("sampling strategies reloaded", "path", p.path, "sha256", seen, "services", len(s.services))
			p.warnRateLimitsIgnored(s)
			return
		}
	}
	p.metrics.reloads.WithLabelValues("failure").Inc()
	p.metrics.lastReloadOK.Set(0)
	p.logger.Error("sampling strategies file not reloaded; still serving the previous strategies",
		"path", p.path, "served_sha256", p.current.Load().sha256, "err", err)
}

// warnRateLimitsIgnored tells the operator about rate limits that most
// SDKs will not apply (see rateLimitedWithOperations).
func (p *Provider) warnRateLimitsIgnored(s *Strategies) {
	names := s.rateLimitedWithOperations()
	if len(names) == 0 {
		return
	}
	const maxNames = 20
	if len(names) > maxNames {
		names = append(names[:maxNames], fmt.Sprintf("and %d more", len(names)-maxNames))
	}
	p.logger.Warn("some rate-limiting strategies also carry operation strategies (their own or the default strategy's); "+
		"SDKs that sample per operation, such as OpenTelemetry's jaegerremote and jaeger-client-go, follow those and do not apply the rate limit, as with Jaeger",
		"path", p.path, "services", names, "note", `"" is the default strategy`)
}

func readStrategiesFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read sampling strategies file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read sampling strategies file %s: %w", path, err)
	}
	if len(data) > maxFileBytes {
		return nil, fmt.Errorf("read sampling strategies file %s: %w", path, errTooLarge)
	}
	return data, nil
}

var errTooLarge = fmt.Errorf("larger than %d bytes", maxFileBytes)

// errRunning is returned by a second concurrent Run.
var errRunning = errors.New("sampling: Provider.Run is already running")
