package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/functions/pipeline"
	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/client"
	"github.com/tracelake/tracelake/wasm/host"
)

// ErrClosed is returned by Process, Apply and Run's polls once the Manager
// is closed. Process fails rather than pass spans through unsampled: a
// plugin may be there to redact them.
var ErrClosed = errors.New("sampling plugins: manager closed")

// DefaultPollInterval is how often Run looks for changes by default.
const DefaultPollInterval = 10 * time.Second

// retryRejectedAfter is how long Run leaves a rejected state alone: the
// same configuration with the same plugin contents is not loaded, logged
// and counted again at every poll, only this often (in case what failed
// was transient).
const retryRejectedAfter = 5 * time.Minute

// Options configure a Manager. Every field is optional.
type Options struct {
	Logger *slog.Logger
	// Registerer receives the tracelake_plugins_* metrics.
	Registerer prometheus.Registerer
	// Getenv supplies object-store credentials and endpoints, as for
	// storage (see storage/objstore/client.Open). Nil is an empty
	// environment.
	Getenv func(string) string
	// Now is the clock. Defaults to time.Now.
	Now func() time.Time
	// PollInterval is how often Run looks for changes; 0 is
	// DefaultPollInterval.
	PollInterval time.Duration
	// OpenBucket opens the bucket of an object source, given its URL
	// without the object's name ("s3://bucket/dir?endpoint=…"). Defaults
	// to client.Open with Getenv. The Manager closes the buckets it opens.
	OpenBucket func(ctx context.Context, url string) (objstore.Bucket, error)
}

// Manager runs each tenant's chain of sampling plugins over its spans, and
// replaces the chains when their configuration or their plugins change,
// without failing a request. It is safe for concurrent use.
//
// The chains in force are an immutable snapshot. A request acquires the
// current snapshot, runs its chain and releases it; Apply builds a new
// snapshot beside the current one, publishes it, then retires the old one.
// A plugin is closed only when the last snapshot holding it has been
// retired and released by every request that acquired it.
type Manager struct {
	loader  *host.Loader
	logger  *slog.Logger
	metrics *metrics
	now     func() time.Time
	poll    time.Duration

	cur atomic.Pointer[snapshot] // nil once closed

	// applying is held by Apply, Run's polls and Close: one change at a
	// time. It is a channel so that waiting for it can end with a context.
	applying chan struct{}
	// Guarded by applying:
	src      *sources
	closed   bool
	rejected rejection
	stale    map[string]bool // sources served from their last version

	mu   sync.Mutex // guards entry.refs, live and done
	live int        // plugins of published snapshots not closed yet
	done chan struct{}
}

// rejection is the last state Apply refused, and when.
type rejection struct {
	state string
	at    time.Time
}

// entry is one loaded plugin: a Spec loaded from one version of its
// source. Snapshots share entries.
type entry struct {
	key    string // spec key @ content sum
	spec   Spec
	sum    string
	plugin *host.Plugin
	refs   int // snapshots holding it; guarded by Manager.mu
}

// snapshot is the chains in force at one time. Immutable once published.
type snapshot struct {
	// state counts the requests using the snapshot, plus retiredBit once
	// it has been replaced. After retiredBit is set the count only falls;
	// whoever brings it to exactly retiredBit finalizes the snapshot.
	state       atomic.Int64
	def         []*entry
	tenants     map[string][]*entry
	entries     map[string]*entry // by key
	config      string            // Chains.fingerprint
	fingerprint string            // the configuration and its plugins' contents
}

const retiredBit = 1 << 62

var _ pipeline.Stage = (*Manager)(nil)

// NewManager returns a Manager whose chains are empty until Apply: every
// tenant's spans pass through unchanged. loader must outlive it.
func NewManager(loader *host.Loader, opts Options) *Manager {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.OpenBucket == nil {
		getenv := opts.Getenv
		opts.OpenBucket = func(ctx context.Context, url string) (objstore.Bucket, error) {
			return client.Open(ctx, url, getenv)
		}
	}
	m := &Manager{
		loader:   loader,
		logger:   opts.Logger,
		metrics:  newMetrics(opts.Registerer),
		now:      opts.Now,
		poll:     opts.PollInterval,
		applying: make(chan struct{}, 1),
		src:      newSources(opts.OpenBucket, opts.Now),
		stale:    map[string]bool{},
	}
	empty := &snapshot{tenants: map[string][]*entry{}, entries: map[string]*entry{}, config: Chains{}.fingerprint()}
	empty.fingerprint = fingerprint(empty.config, nil)
	m.cur.Store(empty)
	m.metrics.config.WithLabelValues(short(empty.fingerprint)).Set(1)
	return m
}

// Process runs tenant's chain (its own, or else the default one) over td,
// in order, and returns the spans kept. Each plugin's failures are handled
// by its policy; Process fails only when ctx ends while waiting for a
// plugin instance, or after Close.
func (m *Manager) Process(ctx context.Context, tenant string, td ptrace.Traces) (ptrace.Traces, error) {
	s := m.acquire()
	if s == nil {
		return td, ErrClosed
	}
	defer m.release(context.WithoutCancel(ctx), s)
	chain, ok := s.tenants[tenant]
	if !ok {
		chain = s.def
	}
	for _, e := range chain {
		if td.SpanCount() == 0 {
			break
		}
		if _, err := e.plugin.Process(ctx, td); err != nil {
			return td, fmt.Errorf("sampling plugin %s: %w", e.spec.Name, err)
		}
	}
	return td, nil
}

// acquire returns the current snapshot, counted as in use, or nil once
// the Manager is closed.
func (m *Manager) acquire() *snapshot {
	for {
		s := m.cur.Load()
		if s == nil {
			return nil
		}
		n := s.state.Load()
		if n&retiredBit != 0 {
			// Replaced since we loaded it (the new one was published
			// before this one was retired): load again.
			continue
		}
		if s.state.CompareAndSwap(n, n+1) {
			return s
		}
	}
}

func (m *Manager) release(ctx context.Context, s *snapshot) {
	if s.state.Add(-1) == retiredBit {
		m.finalize(ctx, s)
	}
}

// retire marks a snapshot that is no longer current; it is finalized now
// if no request uses it, else by the last request to release it.
func (m *Manager) retire(ctx context.Context, s *snapshot) {
	if s.state.Add(retiredBit) == retiredBit {
		m.finalize(ctx, s)
	}
}

// finalize drops a retired, unused snapshot's hold on its plugins and
// closes those no other snapshot holds.
func (m *Manager) finalize(ctx context.Context, s *snapshot) {
	var dead []*entry
	m.mu.Lock()
	for _, e := range s.entries {
		if e.refs--; e.refs == 0 {
			dead = append(dead, e)
		}
	}
	m.mu.Unlock()
	if len(dead) == 0 {
		return
	}
	for _, e := range dead {
		if err := e.plugin.Close(ctx); err != nil {
			m.logger.Warn("closing a replaced sampling plugin", "plugin", e.spec.Name, "err", err)
		}
	}
	m.mu.Lock()
	if m.live -= len(dead); m.live == 0 && m.done != nil {
		close(m.done)
	}
	m.mu.Unlock()
}

// Apply makes c the chains in force. It reads every plugin's source and
// loads the plugins that are new or changed (a plugin whose Spec and
// source content are those of a plugin in force is reused, not loaded
// again), then switches every tenant to the new chains at once. Requests
// in progress finish with the chains they started with.
//
// If c is invalid or any plugin cannot be read or loaded, Apply returns an
// error naming the chain, the plugin and the cause, closes what it loaded,
// and leaves the chains in force as they were. A source that cannot be
// read but is in force is taken at the version in force (and logged), so
// an object store that is briefly unreachable neither disturbs the
// plugins it serves nor blocks an unrelated change. Applying the
// configuration in force, with unchanged sources, does nothing.
func (m *Manager) Apply(ctx context.Context, c Chains) error {
	return m.apply(ctx, c, false)
}

func (m *Manager) lock(ctx context.Context) error {
	select {
	case m.applying <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m *Manager) unlock() { <-m.applying }

// planned is one distinct plugin the new chains need.
type planned struct {
	spec    Spec
	specKey string
	users   []chainRef
	version *version
	entry   *entry
}

func (p *planned) where() string {
	s := fmt.Sprintf("plugin %q of %s", p.spec.Name, p.users[0])
	if n := len(p.users) - 1; n == 1 {
		s += " and " + p.users[1].String()
	} else if n > 1 {
		s += fmt.Sprintf(" and %d other chains", n)
	}
	return s
}

func (m *Manager) apply(ctx context.Context, c Chains, poll bool) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	defer m.unlock()
	if m.closed {
		return ErrClosed
	}
	if err := c.Validate(); err != nil {
		return m.reject(poll, "invalid\x00"+err.Error(), fmt.Errorf("invalid sampling plugin configuration:\n%w", err))
	}
	cur := m.cur.Load()
	config := c.fingerprint()

	// The distinct plugins, in chain order.
	var plan []*planned
	byKey := map[string]*planned{}
	c.each(func(ref chainRef, chain []Spec) {
		for _, s := range chain {
			k := s.key()
			p, ok := byKey[k]
			if !ok {
				p = &planned{spec: s, specKey: k}
				byKey[k] = p
				plan = append(plan, p)
			}
			if !slices.Contains(p.users, ref) {
				p.users = append(p.users, ref)
			}
		}
	})

	// Their sources' current versions.
	var errs []error
	var unreadable []string
	versions := map[string]*version{}
	for _, p := range plan {
		src := p.spec.Source
		if v, ok := versions[src]; ok {
			p.version = v
			continue
		}
		v, err := m.src.get(ctx, src)
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("apply sampling plugins: %w", ctx.Err())
		}
		switch {
		case err != nil && v == nil:
			errs = append(errs, fmt.Errorf("%s: read %s: %w", p.where(), src, err))
			unreadable = append(unreadable, src)
			continue
		case err != nil:
			if !m.stale[src] {
				m.logger.Warn("cannot read a sampling plugin's source; using the version in force",
					"plugin", p.spec.Name, "source", src, "sha256", short(v.sum), "err", err)
				m.stale[src] = true
			}
		case m.stale[src]:
			m.logger.Info("a sampling plugin's source is readable again", "plugin", p.spec.Name, "source", src)
			delete(m.stale, src)
		}
		versions[src] = v
		p.version = v
	}
	if len(errs) > 0 {
		return m.reject(poll, config+"\x00unreadable\x00"+strings.Join(unreadable, "\x00"), rejected(errs))
	}

	keys := make([]string, len(plan))
	for i, p := range plan {
		keys[i] = p.specKey + "@" + p.version.sum
	}
	fp := fingerprint(config, keys)
	if fp == cur.fingerprint {
		m.accepted()
		return nil
	}
	if poll && m.repeated(fp) {
		return nil // rejected already; see retryRejectedAfter
	}

	// Load what is not loaded.
	var loaded []*entry
	for i, p := range plan {
		if e, ok := cur.entries[keys[i]]; ok {
			p.entry = e
			continue
		}
		plugin, err := m.loader.Load(ctx, host.Config{
			Name:             p.spec.Name,
			Module:           p.version.data,
			PluginConfig:     p.spec.Config,
			MemoryLimitPages: p.spec.MemoryLimitPages,
			Timeout:          p.spec.Timeout,
			Policy:           p.spec.Policy,
			MinInstances:     p.spec.MinInstances,
			MaxInstances:     p.spec.MaxInstances,
			MaxBatchSpans:    p.spec.MaxBatchSpans,
		})
		if err != nil {
			m.metrics.loads.WithLabelValues(p.spec.Name, "error").Inc()
			errs = append(errs, fmt.Errorf("%s, from %s: %w", p.where(), p.spec.Source, err))
			continue
		}
		m.metrics.loads.WithLabelValues(p.spec.Name, "ok").Inc()
		p.entry = &entry{key: keys[i], spec: p.spec, sum: p.version.sum, plugin: plugin}
		loaded = append(loaded, p.entry)
	}
	if len(errs) > 0 || ctx.Err() != nil {
		cctx := context.WithoutCancel(ctx)
		for _, e := range loaded {
			_ = e.plugin.Close(cctx)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("apply sampling plugins: %w", ctx.Err())
		}
		return m.reject(poll, fp, rejected(errs))
	}

	next := &snapshot{tenants: map[string][]*entry{}, entries: map[string]*entry{}, config: config, fingerprint: fp}
	resolve := func(chain []Spec) []*entry {
		out := make([]*entry, len(chain))
		for i, s := range chain {
			e := byKey[s.key()].entry
			out[i] = e
			next.entries[e.key] = e
		}
		return out
	}
	next.def = resolve(c.Default)
	for t, chain := range c.Tenants {
		next.tenants[t] = resolve(chain)
	}
	m.mu.Lock()
	for _, e := range next.entries {
		e.refs++
	}
	m.live += len(loaded)
	m.mu.Unlock()
	// Publish, then retire: a request that loaded the old pointer and finds
	// it retired loads again and gets the new one.
	m.cur.Store(next)
	m.retire(context.WithoutCancel(ctx), cur)

	m.src.commit(versions)
	for src := range m.stale {
		if _, ok := versions[src]; !ok {
			delete(m.stale, src)
		}
	}
	m.metrics.reloads.WithLabelValues("ok").Inc()
	m.metrics.loaded.Set(float64(len(next.entries)))
	m.metrics.config.DeleteLabelValues(short(cur.fingerprint))
	m.metrics.config.WithLabelValues(short(fp)).Set(1)
	m.accepted()
	m.logger.Info("sampling plugin chains replaced", describeChange(cur, next, loaded)...)
	return nil
}

// accepted records that the chains in force are the configured ones.
func (m *Manager) accepted() {
	m.rejected = rejection{}
	m.metrics.lastSuccessful.Set(1)
}

// repeated reports whether state was rejected recently.
func (m *Manager) repeated(state string) bool {
	return m.rejected.state == state && m.now().Sub(m.rejected.at) < retryRejectedAfter
}

// reject counts, logs and returns err, the reason state was rejected;
// from a poll, a state rejected recently is neither counted nor logged
// again.
func (m *Manager) reject(poll bool, state string, err error) error {
	if poll && m.repeated(state) {
		return err
	}
	m.rejected = rejection{state: state, at: m.now()}
	m.metrics.reloads.WithLabelValues("error").Inc()
	m.metrics.lastSuccessful.Set(0)
	m.logger.Warn("sampling plugin configuration rejected; the chains in force stay", "err", err)
	return err
}

func rejected(errs []error) error {
	return fmt.Errorf("sampling plugin configuration rejected, the chains in force stay:\n%w", errors.Join(errs...))
}

// describeChange says what a swap changed, for the log.
func describeChange(old, next *snapshot, loaded []*entry) []any {
	var loads []string
	for _, e := range loaded {
		why := "new"
		for _, o := range old.entries {
			if o.spec.Name != e.spec.Name {
				continue
			}
			if o.spec.key() == e.spec.key() {
				why = "source changed, sha256 " + short(o.sum) + " → " + short(e.sum)
			} else {
				why = "settings changed"
			}
			break
		}
		loads = append(loads, e.spec.Name+" ("+why+")")
	}
	var closing []string
	for k, o := range old.entries {
		if _, ok := next.entries[k]; !ok {
			closing = append(closing, o.spec.Name)
		}
	}
	slices.Sort(closing)
	chainKeys := func(chain []*entry) string {
		keys := make([]string, len(chain))
		for i, e := range chain {
			keys[i] = e.key
		}
		return strings.Join(keys, ",")
	}
	var changed []string
	if chainKeys(old.def) != chainKeys(next.def) {
		changed = append(changed, "default")
	}
	var tenants []string
	for t := range old.tenants {
		tenants = append(tenants, t)
	}
	for t := range next.tenants {
		if _, ok := old.tenants[t]; !ok {
			tenants = append(tenants, t)
		}
	}
	slices.Sort(tenants)
	for _, t := range tenants {
		o, inOld := old.tenants[t]
		n, inNext := next.tenants[t]
		if inOld != inNext || chainKeys(o) != chainKeys(n) {
			changed = append(changed, "tenant "+t)
		}
	}
	return []any{
		"fingerprint", short(next.fingerprint),
		"loaded", loads,
		"reused", len(next.entries) - len(loaded),
		"closing", closing,
		"chains_changed", changed,
	}
}

// Run looks for changes every PollInterval until ctx ends, and returns
// nil then. Each time it reads the configuration through source and, if
// it or any plugin's source changed, applies it (see Apply). A rejected
// change is logged and counted, and the chains in force stay; the same
// rejected state is not retried at every poll, only when something changes
// again (or after a few minutes). An error from source is handled the
// same way.
func (m *Manager) Run(ctx context.Context, source func(context.Context) (Chains, error)) error {
	t := time.NewTicker(m.poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		c, err := source(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if m.lock(ctx) != nil {
				return nil
			}
			closed := m.closed
			if !closed {
				_ = m.reject(true, "source\x00"+err.Error(), fmt.Errorf("read the sampling plugin configuration: %w", err))
			}
			m.unlock()
			if closed {
				return nil
			}
			continue
		}
		if err := m.apply(ctx, c, true); errors.Is(err, ErrClosed) {
			return nil
		}
	}
}

// Close stops the Manager: Process and Apply fail with ErrClosed from now
// on. It waits for an Apply in progress, then for the requests using the
// plugins, and closes every plugin. If ctx ends first the plugins still in
// use are closed when their last request ends.
func (m *Manager) Close(ctx context.Context) error {
	if err := m.lock(ctx); err != nil {
		return err
	}
	if m.closed {
		m.unlock()
		return nil
	}
	m.closed = true
	m.mu.Lock()
	m.done = make(chan struct{})
	if m.live == 0 {
		close(m.done)
	}
	done := m.done
	m.mu.Unlock()
	m.retire(context.WithoutCancel(ctx), m.cur.Swap(nil))
	err := m.src.close()
	m.unlock()
	select {
	case <-done:
		return err
	case <-ctx.Done():
		return errors.Join(err, fmt.Errorf("close sampling plugins: requests still use them: %w", ctx.Err()))
	}
}

// fingerprint identifies chains in force: their configuration and the
// plugins (settings and content) they are loaded from.
func fingerprint(config string, keys []string) string {
	keys = slices.Sorted(slices.Values(keys))
	h := sha256.New()
	h.Write([]byte(config))
	for _, k := range keys {
		h.Write([]byte{0})
		h.Write([]byte(k))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// short is a fingerprint or sum as logs and metrics show it.
func short(sum string) string { return sum[:min(len(sum), 16)] }
