package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/tetratelabs/wazero/sys"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/wasm/abi"
)

// Policy says what happens to a batch a plugin failed on.
type Policy int

const (
	// FailOpen keeps every span of the batch, unedited.
	FailOpen Policy = iota
	// FailClosed drops every span of the batch.
	FailClosed
)

func (p Policy) String() string {
	if p == FailClosed {
		return "fail-closed"
	}
	return "fail-open"
}

// ParsePolicy reads "fail-open" or "fail-closed".
func ParsePolicy(s string) (Policy, error) {
	switch s {
	case "fail-open", "":
		return FailOpen, nil
	case "fail-closed":
		return FailClosed, nil
	}
	return 0, fmt.Errorf("failure policy %q is not fail-open or fail-closed", s)
}

// Config describes one plugin to load.
type Config struct {
	// Name identifies the plugin in logs and metrics.
	Name string
	// Module is the WebAssembly binary.
	Module []byte
	// PluginConfig is handed to the plugin's tracelake_init.
	PluginConfig []byte
	// MemoryLimitPages bounds each instance's memory, in 64 KiB pages.
	MemoryLimitPages uint32
	// Timeout bounds one batch.
	Timeout time.Duration
	// Policy handles failed batches.
	Policy Policy
	// MinInstances are created and initialised at load, so the first
	// requests do not pay for instantiation; MaxInstances bounds the pool.
	MinInstances, MaxInstances int
	// MaxBatchSpans bounds the spans passed in one call; larger requests
	// are split.
	MaxBatchSpans int
}

// Defaults for zero Config fields.
const (
	DefaultMemoryLimitPages = 1024 // 64 MiB
	DefaultTimeout          = 250 * time.Millisecond
	DefaultMaxBatchSpans    = 4096
)

func (c *Config) defaults() {
	if c.MemoryLimitPages == 0 {
		c.MemoryLimitPages = DefaultMemoryLimitPages
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MinInstances == 0 {
		c.MinInstances = 1
	}
	if c.MaxInstances == 0 {
		c.MaxInstances = 2 * runtime.GOMAXPROCS(0)
	}
	if c.MaxBatchSpans == 0 {
		c.MaxBatchSpans = DefaultMaxBatchSpans
	}
}

// Loader compiles and loads plugins. One per process: it owns the
// compilation cache, shared by every plugin's runtime.
type Loader struct {
	cache    wazero.CompilationCache
	logger   *slog.Logger
	metrics  *metrics
	now      func() time.Time
	logEvery time.Duration
}

// LoaderConfig configures a Loader.
type LoaderConfig struct {
	// CacheDir holds compiled plugins between process starts; empty keeps
	// them in memory only.
	CacheDir string
	Logger   *slog.Logger
	// Registerer receives the plugin metrics.
	Registerer prometheus.Registerer
	// Now is the clock whose time batches carry. Defaults to time.Now.
	Now func() time.Time
	// LogEvery lets one plugin log message or failure warning through per
	// interval and plugin, counting the rest (default 10 s; negative: all,
	// for tools showing an author everything their plugin says).
	LogEvery time.Duration
}

// NewLoader returns a Loader.
func NewLoader(cfg LoaderConfig) (*Loader, error) {
	var cache wazero.CompilationCache
	if cfg.CacheDir != "" {
		var err error
		if cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("plugin compilation cache %s: %w", cfg.CacheDir, err)
		}
	} else {
		cache = wazero.NewCompilationCache()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.LogEvery == 0 {
		cfg.LogEvery = 10 * time.Second
	}
	return &Loader{cache: cache, logger: cfg.Logger, metrics: newMetrics(cfg.Registerer), now: cfg.Now, logEvery: cfg.LogEvery}, nil
}

// Close releases the compilation cache. Plugins must be closed first.
func (l *Loader) Close(ctx context.Context) error { return l.cache.Close(ctx) }

// Plugin is a loaded plugin: its compiled module, configuration and a pool
// of initialised instances. It is safe for concurrent use.
type Plugin struct {
	cfg      Config
	loader   *Loader
	rt       wazero.Runtime
	compiled wazero.CompiledModule
	features uint32
	hasInit  bool
	logLimit *rateLimit

	pool    chan *instance
	created atomic.Int32
	m       pluginMetrics
	scratch sync.Pool    // *processScratch, reused across Process calls
	closeMu sync.RWMutex // held for reading by calls, for writing by Close
	closed  bool
}

// Load compiles (or fetches from the cache) cfg's module, checks it
// against the ABI, and creates and initialises its first instances. Any
// problem is an error naming it; nothing is left running.
func (l *Loader) Load(ctx context.Context, cfg Config) (*Plugin, error) {
	cfg.defaults()
	if cfg.MinInstances > cfg.MaxInstances {
		return nil, fmt.Errorf("plugin %s: min instances %d exceed max instances %d", cfg.Name, cfg.MinInstances, cfg.MaxInstances)
	}
	// A runtime per plugin: the memory limit is a runtime setting.
	rt := wazero.NewRuntimeWithConfig(ctx, wazero.NewRuntimeConfig().
		WithCompilationCache(l.cache).
		WithCloseOnContextDone(true).
		WithMemoryLimitPages(cfg.MemoryLimitPages))
	p := &Plugin{cfg: cfg, loader: l, rt: rt, pool: make(chan *instance, cfg.MaxInstances),
		logLimit: newRateLimit(l.logEvery, l.now), m: l.metrics.forPlugin(cfg.Name)}
	p.scratch.New = func() any { return &processScratch{} }
	fail := func(err error) (*Plugin, error) {
		_ = rt.Close(ctx)
		return nil, fmt.Errorf("plugin %s: %w", cfg.Name, err)
	}
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		return fail(fmt.Errorf("WASI: %w", err))
	}
	if err := p.instantiateHostModule(ctx); err != nil {
		return fail(err)
	}
	compiled, err := rt.CompileModule(ctx, cfg.Module)
	if err != nil {
		return fail(fmt.Errorf("not a valid WebAssembly module: %w", err))
	}
	p.compiled = compiled
	if err := p.check(); err != nil {
		return fail(err)
	}
	inst, err := p.newInstance(ctx)
	if err != nil {
		return fail(err)
	}
	version, err := inst.call(ctx, abi.ExportVersion)
	if err != nil || version != abi.Version {
		inst.close(ctx)
		if err != nil {
			return fail(fmt.Errorf("%s: %w", abi.ExportVersion, err))
		}
		return fail(fmt.Errorf("plugin speaks ABI version %d; this host speaks %d", version, abi.Version))
	}
	p.features = abi.FeaturesAll
	if _, ok := compiled.ExportedFunctions()[abi.ExportFeatures]; ok {
		f, err := inst.call(ctx, abi.ExportFeatures)
		if err != nil {
			inst.close(ctx)
			return fail(fmt.Errorf("%s: %w", abi.ExportFeatures, err))
		}
		p.features = uint32(f) & abi.FeaturesAll
	}
	p.created.Store(1)
	p.pool <- inst
	for i := 1; i < cfg.MinInstances; i++ {
		inst, err := p.newInstance(ctx)
		if err != nil {
			p.Close(ctx)
			return nil, fmt.Errorf("plugin %s: %w", cfg.Name, err)
		}
		p.created.Add(1)
		p.pool <- inst
	}
	p.m.instances.Set(float64(p.created.Load()))
	return p, nil
}

// check validates the module's exports and imports against the ABI, so a
// wrong module fails at load with a message saying what is wrong.
func (p *Plugin) check() error {
	exports := p.compiled.ExportedFunctions()
	type export struct {
		name            string
		params, results int // all i32
		required        bool
	}
	for _, e := range []export{ // in a fixed order, so the first problem reported is stable
		{abi.ExportVersion, 0, 1, true},
		{abi.ExportAlloc, 1, 1, true},
		{abi.ExportSample, 2, 1, true},
		{abi.ExportInit, 2, 1, false},
		{abi.ExportFeatures, 0, 1, false},
	} {
		def, ok := exports[e.name]
		if !ok {
			if e.required {
				return fmt.Errorf("module does not export %s (see wasm/FORMAT.md)", e.name)
			}
			continue
		}
		if err := checkSignature(e.name, def, [2]int{e.params, e.results}); err != nil {
			return err
		}
	}
	_, p.hasInit = exports[abi.ExportInit]
	if _, ok := p.compiled.ExportedMemories()[abi.ExportMemory]; !ok {
		return fmt.Errorf("module does not export its memory as %q", abi.ExportMemory)
	}
	for _, imp := range p.compiled.ImportedFunctions() {
		module, name, _ := imp.Import()
		switch module {
		case abi.ImportModule:
			if name != abi.ImportError && name != abi.ImportSetEdits && name != abi.ImportLog {
				return fmt.Errorf("module imports %s.%s, which the host does not provide", module, name)
			}
		case wasi_snapshot_preview1.ModuleName:
		default:
			return fmt.Errorf("module imports %s.%s; plugins may import only %s.* and WASI", module, name, abi.ImportModule)
		}
	}
	if len(p.cfg.PluginConfig) > 0 && !p.hasInit {
		return fmt.Errorf("configuration given but the module does not export %s", abi.ExportInit)
	}
	return nil
}

func checkSignature(name string, def api.FunctionDefinition, sig [2]int) error {
	params, results := def.ParamTypes(), def.ResultTypes()
	ok := len(params) == sig[0] && len(results) == sig[1]
	for _, t := range append(params, results...) {
		ok = ok && t == api.ValueTypeI32
	}
	if !ok {
		return fmt.Errorf("export %s has the wrong signature %v → %v; want %d i32 parameters and %d i32 result", name, params, results, sig[0], sig[1])
	}
	return nil
}

// instance is one instantiated plugin. It is used by one goroutine at a
// time.
type instance struct {
	p              *Plugin
	mod            api.Module
	mem            api.Memory
	alloc, sample  api.Function
	bufPtr, bufCap uint32 // the guest buffer from the last tracelake_alloc
	stack          [2]uint64
	w              *batchWriter
}

func (p *Plugin) newInstance(ctx context.Context) (*instance, error) {
	mod, err := p.rt.InstantiateModule(ctx, p.compiled, wazero.NewModuleConfig().
		WithName(""). // anonymous: many instances of one module in one runtime
		WithStartFunctions(abi.ExportInitialize))
	if err != nil {
		return nil, fmt.Errorf("instantiate: %w", err)
	}
	inst := &instance{p: p, mod: mod, mem: mod.Memory(),
		alloc: mod.ExportedFunction(abi.ExportAlloc), sample: mod.ExportedFunction(abi.ExportSample),
		w: newBatchWriter()}
	if p.hasInit {
		st := &callState{}
		cctx := withCallState(ctx, st)
		cfg := p.cfg.PluginConfig
		var ptr uint32
		var err error
		if len(cfg) > 0 { // empty configuration is (0, 0): no buffer needed
			ptr, err = inst.reserve(cctx, uint32(len(cfg)))
		}
		if err == nil {
			if len(cfg) > 0 {
				mem, _ := inst.mem.Read(ptr, uint32(len(cfg)))
				copy(mem, cfg)
			}
			inst.stack[0], inst.stack[1] = uint64(ptr), uint64(len(cfg))
			err = mod.ExportedFunction(abi.ExportInit).CallWithStack(cctx, inst.stack[:])
			if err == nil && int32(inst.stack[0]) != 0 {
				err = fmt.Errorf("returned %d: %s", int32(inst.stack[0]), st.message())
			}
		}
		if err != nil {
			inst.close(ctx)
			return nil, fmt.Errorf("%s: %w", abi.ExportInit, err)
		}
	}
	return inst, nil
}

func (inst *instance) close(ctx context.Context) { _ = inst.mod.Close(ctx) }

// call calls a () → i32 export.
func (inst *instance) call(ctx context.Context, name string) (int32, error) {
	res, err := inst.mod.ExportedFunction(name).Call(ctx)
	if err != nil {
		return 0, err
	}
	return int32(res[0]), nil
}

// reserve returns a guest buffer of at least n bytes, calling
// tracelake_alloc only when the last one is too small.
func (inst *instance) reserve(ctx context.Context, n uint32) (uint32, error) {
	if n <= inst.bufCap && inst.bufPtr != 0 {
		return inst.bufPtr, nil
	}
	inst.stack[0] = uint64(n)
	if err := inst.alloc.CallWithStack(ctx, inst.stack[:]); err != nil {
		return 0, fmt.Errorf("%s(%d): %w", abi.ExportAlloc, n, err)
	}
	ptr := uint32(inst.stack[0])
	if ptr == 0 {
		return 0, fmt.Errorf("%s(%d) returned 0: no memory", abi.ExportAlloc, n)
	}
	if _, ok := inst.mem.Read(ptr, n); !ok {
		return 0, fmt.Errorf("%s(%d) returned %#x, outside the plugin's memory", abi.ExportAlloc, n, ptr)
	}
	inst.bufPtr, inst.bufCap = ptr, n
	return ptr, nil
}

// acquire takes an idle instance, or creates one while the pool is below
// its maximum, or waits for one.
func (p *Plugin) acquire(ctx context.Context) (*instance, error) {
	select {
	case inst := <-p.pool:
		return inst, nil
	default:
	}
	// Claim a slot below the bound with compare-and-swap, so that the count
	// never exceeds it, even for a moment.
	for n := p.created.Load(); n < int32(p.cfg.MaxInstances); n = p.created.Load() {
		if !p.created.CompareAndSwap(n, n+1) {
			continue
		}
		inst, err := p.newInstance(ctx)
		if err != nil {
			p.created.Add(-1)
			return nil, err
		}
		p.m.instances.Set(float64(p.created.Load()))
		return inst, nil
	}
	select {
	case inst := <-p.pool:
		return inst, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *Plugin) release(inst *instance) { p.pool <- inst }

// discard closes an instance that failed: its memory may be corrupt.
func (p *Plugin) discard(ctx context.Context, inst *instance) {
	inst.close(ctx)
	p.created.Add(-1)
	p.m.instances.Set(float64(p.created.Load()))
}

// Name is the plugin's configured name.
func (p *Plugin) Name() string { return p.cfg.Name }

// Features are what the plugin reads (abi.Feature* bits).
func (p *Plugin) Features() uint32 { return p.features }

// Close closes every instance and the plugin's runtime. Calls in progress
// finish first.
func (p *Plugin) Close(ctx context.Context) error {
	p.closeMu.Lock()
	defer p.closeMu.Unlock()
	if p.closed {
		return nil
	}
	p.closed = true
	return p.rt.Close(ctx) // closes every module of the runtime
}

// Stats says what a plugin did to one request's spans.
type Stats struct {
	Kept, Dropped, Edits int
	// Failed counts spans in batches the plugin failed on (handled by the
	// policy); Failure says why the last one failed.
	Failed  int
	Failure error
}

// Process runs the plugin over td's spans, in batches of at most
// MaxBatchSpans, removes the spans it drops and applies its edits, in
// place. A plugin failure is not an error: the policy decides the failed
// batch and Stats reports it. Process returns an error only when the
// plugin is closed or ctx ends while waiting for an instance.
func (p *Plugin) Process(ctx context.Context, td ptrace.Traces) (Stats, error) {
	var st Stats
	p.closeMu.RLock()
	defer p.closeMu.RUnlock()
	if p.closed {
		return st, fmt.Errorf("plugin %s is closed", p.cfg.Name)
	}
	sc := p.scratch.Get().(*processScratch)
	defer sc.put(&p.scratch)
	sc.spans, sc.resources = flatten(td, sc.spans[:0], sc.resources[:0])
	spans, resources := sc.spans, sc.resources
	if len(spans) == 0 {
		return st, nil
	}
	if cap(sc.drop) < len(spans) {
		sc.drop = make([]bool, len(spans))
	}
	drop := sc.drop[:len(spans)]
	var edits []edit
	for from := 0; from < len(spans); from += p.cfg.MaxBatchSpans {
		to := min(from+p.cfg.MaxBatchSpans, len(spans))
		batchEdits, err := p.runBatch(ctx, spans[from:to], resources, drop[from:to])
		if err != nil {
			var failure *Failure
			if !errors.As(err, &failure) {
				return st, err
			}
			st.Failed += to - from
			st.Failure = err
			for i := from; i < to; i++ {
				drop[i] = p.cfg.Policy == FailClosed
			}
			continue
		}
		for i := range batchEdits {
			batchEdits[i].span += from
		}
		edits = append(edits, batchEdits...)
	}
	for _, e := range edits {
		if !drop[e.span] {
			e.apply(spans[e.span].span)
			st.Edits++
		}
	}
	for _, d := range drop {
		if d {
			st.Dropped++
		}
	}
	st.Kept = len(drop) - st.Dropped
	if st.Dropped > 0 { // removing walks every span: skip it when nothing goes
		i := 0
		removeSpans(td, func() bool {
			d := drop[i]
			i++
			return d
		})
	}
	p.m.kept.Add(float64(st.Kept))
	p.m.dropped.Add(float64(st.Dropped))
	if st.Edits > 0 {
		p.m.edits.Add(float64(st.Edits))
	}
	return st, nil
}

// processScratch holds the slices one Process call needs, reused across
// calls so a request does not allocate them anew.
type processScratch struct {
	spans     []flatSpan
	resources []pcommon.Resource
	drop      []bool
}

// put returns the scratch to pool, releasing references to the request's
// spans so they are not kept alive by the pool.
func (sc *processScratch) put(pool *sync.Pool) {
	clear(sc.spans)
	clear(sc.resources)
	if cap(sc.spans) > 1<<16 { // do not pin one huge request's slices
		return
	}
	pool.Put(sc)
}

// removeSpans removes, in flatten's order, the spans for which drop says
// so, and then scopes and resources left empty.
func removeSpans(td ptrace.Traces, drop func() bool) {
	td.ResourceSpans().RemoveIf(func(rs ptrace.ResourceSpans) bool {
		rs.ScopeSpans().RemoveIf(func(ss ptrace.ScopeSpans) bool {
			ss.Spans().RemoveIf(func(ptrace.Span) bool { return drop() })
			return ss.Spans().Len() == 0
		})
		return rs.ScopeSpans().Len() == 0
	})
}

// Failure is a batch a plugin failed on; Process handles it with the
// policy and reports it in Stats.Failure.
type Failure struct {
	// Kind is one of trap, timeout, memory, error, bad_output, instance;
	// the same as the result label of tracelake_plugin_batches_total.
	Kind string
	Err  error
}

func (f *Failure) Error() string { return fmt.Sprintf("%s: %v", f.Kind, f.Err) }
func (f *Failure) Unwrap() error { return f.Err }

// runBatch writes spans into an instance, calls tracelake_sample, and
// reads back its decisions (into drop) and edits.
func (p *Plugin) runBatch(ctx context.Context, spans []flatSpan, resources []pcommon.Resource, drop []bool) ([]edit, error) {
	start := time.Now()
	inst, err := p.acquire(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, p.failed(&Failure{Kind: "instance", Err: err})
	}
	// The call gets its own deadline and ignores the request's
	// cancellation: a client hanging up must not cost a pool instance.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.cfg.Timeout)
	defer cancel()
	st := &callState{}
	cctx = withCallState(cctx, st)

	l := inst.w.plan(spans, resources, p.features)
	ptr, err := inst.reserve(cctx, l.total)
	if err != nil {
		p.discard(ctx, inst)
		return nil, p.failed(classify(cctx, err, "memory"))
	}
	buf, _ := inst.mem.Read(ptr, l.total)
	inst.w.write(buf, l, spans, resources, p.loader.now().UnixNano())
	inst.stack[0], inst.stack[1] = uint64(ptr), uint64(l.total)
	if err := inst.sample.CallWithStack(cctx, inst.stack[:]); err != nil {
		kind := "trap"
		if p.nearMemoryLimit(inst) {
			kind = "memory" // a guest out of memory traps like any other
		}
		p.discard(ctx, inst)
		return nil, p.failed(classify(cctx, err, kind))
	}
	if ret := int32(inst.stack[0]); ret != 0 {
		p.discard(ctx, inst)
		return nil, p.failed(&Failure{Kind: "error", Err: fmt.Errorf("%s returned %d: %s", abi.ExportSample, ret, st.message())})
	}
	// The guest may have grown its memory: read again.
	decisions, ok := inst.mem.Read(ptr+l.decisionsOff, uint32(len(spans)))
	if !ok {
		p.discard(ctx, inst)
		return nil, p.failed(&Failure{Kind: "bad_output", Err: errors.New("the batch buffer is no longer in the plugin's memory")})
	}
	for i, d := range decisions {
		switch d {
		case abi.Keep:
			drop[i] = false
		case abi.Drop:
			drop[i] = true
		default:
			p.discard(ctx, inst)
			return nil, p.failed(&Failure{Kind: "bad_output", Err: fmt.Errorf("decision %d for span %d; want 0 (keep) or 1 (drop)", d, i)})
		}
	}
	edits, err := st.readEdits(inst.mem, len(spans))
	if err != nil {
		p.discard(ctx, inst)
		return nil, p.failed(&Failure{Kind: "bad_output", Err: err})
	}
	p.release(inst)
	p.m.ok.Inc()
	p.m.duration.Observe(time.Since(start).Seconds())
	return edits, nil
}

// nearMemoryLimit reports whether the instance's memory is within 1 MiB
// of the limit: the sign that its failure was running out of memory.
func (p *Plugin) nearMemoryLimit(inst *instance) bool {
	const slack = 16 // pages
	return inst.mem.Size()/65536+slack >= p.cfg.MemoryLimitPages
}

// classify names a failed call: its deadline passed, it ran out of
// memory, or it trapped (Go panics and proc_exit end up here too).
func classify(ctx context.Context, err error, otherwise string) *Failure {
	var exit *sys.ExitError
	if errors.As(err, &exit) && exit.ExitCode() == sys.ExitCodeDeadlineExceeded || errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &Failure{Kind: "timeout", Err: err}
	}
	return &Failure{Kind: otherwise, Err: err}
}

// failed counts and logs a failure (at most once per 10 s per plugin).
func (p *Plugin) failed(f *Failure) error {
	p.loader.metrics.batches.WithLabelValues(p.cfg.Name, f.Kind).Inc()
	if n, ok := p.logLimit.allow(); ok {
		p.loader.logger.Warn("sampling plugin failed a batch; applying its failure policy",
			"plugin", p.cfg.Name, "failure", f.Kind, "err", f.Err, "policy", p.cfg.Policy.String(), "suppressed", n)
	}
	return f
}
