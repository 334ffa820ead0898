package loadgen

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// timing holds the waits of a run, which tests shorten.
type timing struct {
	// tick is how often progress is printed and the server scraped.
	tick time.Duration
	// settleMax bounds the wait for the server to flush after the load;
	// settleBlind is the wait when it does not say what is pending, and
	// settlePoll how often to ask.
	settleMax, settleBlind, settlePoll time.Duration
	// backoffMin and backoffMax bound the pause after a failed request.
	backoffMin, backoffMax time.Duration
}

func defaultTiming() timing {
	return timing{
		tick:        time.Second,
		settleMax:   30 * time.Second,
		settleBlind: 2 * time.Second,
		settlePoll:  250 * time.Millisecond,
		backoffMin:  10 * time.Millisecond,
		backoffMax:  time.Second,
	}
}

const (
	// templates is how many distinct encoded requests workers cycle
	// through (they differ only in their layout's IDs and times, but a few
	// keep the server from seeing one exact byte pattern).
	templates = 4
	// sampleIDs is how many acknowledged trace IDs are kept for lookups.
	sampleIDs = 10_000
	// requestTimeout bounds one export, so a stuck server cannot hang the
	// run once sending stopped.
	requestTimeout = 30 * time.Second
)

// Run sends cfg's load until cfg.Duration passes or ctx is cancelled (then
// lets in-flight requests finish), reads the server's metrics, looks
// traces up by ID and returns what it measured. It writes a line of
// progress a second to progress (nil for none). Its error is for a run
// that could not start; what goes wrong while running (failed requests,
// wrong lookups, missing metrics) is in the Report, see Report.Err.
// Cancelling ctx ends the run early: sending stops, the server is scraped
// once more without waiting for it to flush, lookups are skipped or cut
// short, and the Report is marked Interrupted.
func Run(ctx context.Context, cfg Config, progress io.Writer) (Report, error) {
	return run(ctx, cfg, progress, defaultTiming())
}

func run(ctx context.Context, cfg Config, progress io.Writer, tm timing) (Report, error) {
	if err := cfg.Validate(); err != nil {
		return Report{}, err
	}
	cfg = cfg.withDefaults()
	if progress == nil {
		progress = io.Discard
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, splitmix(cfg.Seed)))
	w := wireFor(cfg.Protocol)
	tpls := make([]*template, templates)
	for i := range tpls {
		t, err := newTemplate(w, rng, cfg.SpansPerRequest/spansPerTrace, time.Now())
		if err != nil {
			return Report{}, err
		}
		tpls[i] = t
	}
	snd, err := newSender(cfg)
	if err != nil {
		return Report{}, err
	}
	defer snd.close()
	aux := &http.Client{Transport: &http.Transport{
		Proxy:       nil,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}}
	defer aux.CloseIdleConnections()

	rep := Report{
		Protocol:            cfg.Protocol,
		Endpoint:            cfg.Endpoint,
		Workers:             cfg.Workers,
		SpansPerRequest:     tpls[0].spans(),
		TargetRate:          cfg.Rate,
		Gzip:                cfg.Gzip,
		Seed:                cfg.Seed,
		Encoding:            w.name(),
		RequestBytesPerSpan: float64(len(tpls[0].data)) / float64(tpls[0].spans()),
		Machine:             ThisMachine(),
	}
	if rep.SpansPerRequest != cfg.SpansPerRequest {
		rep.warnf("%d spans per request asked, %d sent: requests hold whole traces of %d spans", cfg.SpansPerRequest, rep.SpansPerRequest, spansPerTrace)
	}

	var watch *watcher
	if cfg.MetricsURL != "" {
		before, err := scrape(ctx, aux, cfg.MetricsURL)
		if err != nil {
			rep.warnf("server figures unknown: %v", err)
		} else {
			watch = &watcher{before: before, last: before}
			watch.see(before)
		}
	}

	l := &load{cfg: cfg, tm: tm, tpls: tpls, snd: snd, failures: map[string]int64{}}
	if cfg.Rate > 0 {
		l.pace = &pacer{every: time.Duration(float64(time.Second) * float64(rep.SpansPerRequest) / float64(cfg.Rate))}
	}
	fmt.Fprintf(progress, "sending %s to %s for %s: %d workers, %d spans/request\n",
		cfg.Protocol, cfg.Endpoint, cfg.Duration, cfg.Workers, rep.SpansPerRequest)
	workers := make([]*worker, cfg.Workers)
	stop := make(chan struct{})
	cpuBefore, cpuOK := ProcessCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{
			conn: conn{id: i},
			rng:  rand.New(rand.NewPCG(splitmix(cfg.Seed+uint64(i)+1), splitmix(^cfg.Seed-uint64(i)))),
			ids:  reservoir{size: (sampleIDs + cfg.Workers - 1) / cfg.Workers},
		}
		workers[i] = w
		wg.Go(func() { l.work(ctx, w, stop) })
	}
	monitorDone := make(chan struct{})
	go func() {
		defer close(monitorDone)
		l.monitor(ctx, stop, start, progress, aux, watch)
	}()
	timer := time.NewTimer(cfg.Duration)
	select {
	case <-timer.C:
	case <-ctx.Done():
		timer.Stop()
		rep.Interrupted = true
	}
	close(stop)
	wg.Wait()
	sent := time.Since(start)
	if cpuAfter, ok := ProcessCPU(); ok && cpuOK {
		rep.ClientCPUSeconds = ptr((cpuAfter - cpuBefore).Seconds())
	}
	<-monitorDone

	var lat histogram
	var ids [][16]byte
	for _, w := range workers {
		lat.merge(&w.lat)
		ids = append(ids, w.ids.ids...)
	}
	rep.DurationSeconds = sent.Seconds()
	rep.RequestsOK = l.ok.Load()
	rep.RequestsFailed = l.failed.Load()
	rep.SpansAcked = l.acked.Load()
	rep.SpansRejected = l.rejected.Load()
	rep.ClientSpansPerSecond = float64(rep.SpansAcked) / sent.Seconds()
	rep.ExportLatency = lat.latency()
	if len(l.failures) > 0 {
		rep.Failures = l.failures
		rep.FirstError = l.firstErr
	}
	if rep.SpansAcked == 0 {
		rep.errorf("the server acknowledged no spans")
	}
	fmt.Fprintf(progress, "sent %s spans in %.1f s (%s failed requests)\n", group(rep.SpansAcked), sent.Seconds(), group(rep.RequestsFailed))

	if watch != nil {
		after, err := l.settle(ctx, aux, &rep, watch)
		if err != nil {
			rep.warnf("server figures unknown: %v", err)
		} else {
			watch.see(after)
			rep.Server = watch.figures(after, rep.SpansAcked, &rep)
		}
	}

	if cfg.QueryURL != "" && !rep.Interrupted {
		rep.Lookup = &Lookup{}
		if len(ids) == 0 {
			rep.errorf("no acknowledged trace to look up")
		} else {
			rng.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
			pick := make([][16]byte, cfg.Lookups)
			for i := range pick { // repeats only when fewer traces were acknowledged
				pick[i] = ids[i%len(ids)]
			}
			fmt.Fprintf(progress, "looking up %d traces by ID\n", len(pick))
			rep.Lookup = lookupAll(ctx, aux, cfg.QueryURL, cfg.Tenant, pick)
			rep.Interrupted = rep.Interrupted || ctx.Err() != nil
			if rep.Lookup.Wrong > 0 {
				rep.errorf("%d of %d trace-by-ID lookups answered wrong", rep.Lookup.Wrong, rep.Lookup.Lookups)
			}
		}
	}
	return rep, nil
}

func (r *Report) warnf(format string, args ...any) {
	r.Warnings = append(r.Warnings, fmt.Sprintf(format, args...))
}

func (r *Report) errorf(format string, args ...any) {
	r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
}

// load is the state the workers share.
type load struct {
	cfg  Config
	tm   timing
	tpls []*template
	snd  sender
	pace *pacer

	ok, failed, acked, rejected atomic.Int64

	mu       sync.Mutex
	failures map[string]int64
	firstErr string
}

// worker is one sender's own state: nothing in it is shared while sending.
type worker struct {
	conn
	rng *rand.Rand
	buf []byte
	// traceIDs are those of the request in buf.
	traceIDs [][16]byte
	lat      histogram
	ids      reservoir
	backoff  time.Duration
}

func (l *load) work(ctx context.Context, w *worker, stop <-chan struct{}) {
	// Requests outlive cancellation: in-flight ones finish.
	reqCtx := context.WithoutCancel(ctx)
	for i := w.id; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		if l.pace != nil && !l.pace.wait(stop) {
			return
		}
		t := l.tpls[i%len(l.tpls)]
		var err error
		w.buf, w.traceIDs, err = t.patch(w.buf, w.traceIDs[:0], w.rng, time.Now().UnixNano())
		if err != nil { // only when re-encoding, which the template's check makes near impossible
			out := outcome{code: "encode", err: err}
			l.fail(out)
			if !sleep(stop, w.nextBackoff(out, l.tm)) {
				return
			}
			continue
		}
		rctx, cancel := context.WithTimeout(reqCtx, requestTimeout)
		start := time.Now()
		out := l.snd.send(rctx, &w.conn, w.buf)
		elapsed := time.Since(start)
		cancel()
		if out.ok {
			l.ok.Add(1)
			l.acked.Add(int64(t.spans()) - out.rejected)
			l.rejected.Add(out.rejected)
			w.lat.record(elapsed)
			w.backoff = 0
			if out.rejected == 0 { // else which traces were kept is unknown
				for _, id := range w.traceIDs {
					w.ids.add(id, w.rng)
				}
			}
		} else {
			l.fail(out)
		}
		if !out.keep {
			w.buf = nil
		}
		if !out.ok && !sleep(stop, w.nextBackoff(out, l.tm)) {
			return
		}
	}
}

func (l *load) fail(out outcome) {
	l.failed.Add(1)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failures[out.code]++
	if l.firstErr == "" && out.err != nil {
		l.firstErr = out.err.Error()
	}
}

// nextBackoff is how long to pause after a failure: what the server asked
// for, else doubling from backoffMin, never over backoffMax. Every failure
// backs off, not only overload answers, so a server that is down is not
// hammered by a spinning client.
func (w *worker) nextBackoff(out outcome, tm timing) time.Duration {
	w.backoff = min(max(2*w.backoff, tm.backoffMin), tm.backoffMax)
	if out.retryable && out.retryAfter > 0 {
		return min(out.retryAfter, tm.backoffMax)
	}
	return w.backoff
}

// sleep waits d, or less if stop closes; it returns false in that case.
func sleep(stop <-chan struct{}, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}

// A pacer spaces requests evenly over all workers: each takes the next
// slot, every interval after the last, never earlier than now (so time lost
// to a slow server is not made up in a burst).
type pacer struct {
	every time.Duration
	mu    sync.Mutex
	next  time.Time
}

func (p *pacer) wait(stop <-chan struct{}) bool {
	p.mu.Lock()
	now := time.Now()
	if p.next.Before(now) {
		p.next = now
	}
	at := p.next
	p.next = p.next.Add(p.every)
	p.mu.Unlock()
	return sleep(stop, at.Sub(now))
}

// A reservoir keeps a uniform sample of the trace IDs it was shown
// (Vitter's algorithm R).
type reservoir struct {
	size int
	seen uint64
	ids  [][16]byte
}

func (r *reservoir) add(id [16]byte, rng *rand.Rand) {
	r.seen++
	if len(r.ids) < r.size {
		r.ids = append(r.ids, id)
		return
	}
	if j := rng.Uint64N(r.seen); j < uint64(r.size) {
		r.ids[j] = id
	}
}

// monitor prints progress every tick until stop closes, scraping the
// server each time for its memory and CPU.
func (l *load) monitor(ctx context.Context, stop <-chan struct{}, start time.Time, progress io.Writer, client *http.Client, watch *watcher) {
	t := time.NewTicker(l.tm.tick)
	defer t.Stop()
	var lastAcked int64
	lastAt := start
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			acked := l.acked.Load()
			line := fmt.Sprintf("%4.0fs %10s spans/s  acked %s  failed %s",
				now.Sub(start).Seconds(), group(int64(float64(acked-lastAcked)/now.Sub(lastAt).Seconds())),
				group(acked), group(l.failed.Load()))
			lastAcked, lastAt = acked, now
			if watch != nil {
				if s, err := scrape(ctx, client, l.cfg.MetricsURL); err == nil {
					line += watch.progress(s)
					watch.see(s)
				}
			}
			fmt.Fprintln(progress, line)
		}
	}
}

// watcher follows the server's metrics over a run.
type watcher struct {
	before, last sample
	peakRSS      float64
	sawRSS       bool
}

func (w *watcher) see(s sample) {
	if v, ok := s.get(metricRSS); ok {
		w.peakRSS = max(w.peakRSS, v)
		w.sawRSS = true
	}
	w.last = s
}

// progress is the server part of a progress line: cores used since the
// last scrape, and memory.
func (w *watcher) progress(s sample) string {
	var out string
	if cpu, ok := delta(w.last, s, metricCPU); ok {
		if wall := s.at.Sub(w.last.at).Seconds(); wall > 0 {
			out += fmt.Sprintf("  server %.2f cores", cpu/wall)
		}
	}
	if v, ok := s.get(metricRSS); ok {
		out += "  rss " + bytesText(v)
	}
	return out
}

// settle waits until the server has flushed everything it acknowledged
// (its pending bytes are zero), then returns that scrape; once ctx is
// cancelled it scrapes once without waiting.
func (l *load) settle(ctx context.Context, client *http.Client, rep *Report, watch *watcher) (sample, error) {
	sctx := context.WithoutCancel(ctx) // the after-scrape is wanted even when interrupted
	start := time.Now()
	for {
		if ctx.Err() != nil {
			return scrape(sctx, client, l.cfg.MetricsURL)
		}
		s, err := scrape(sctx, client, l.cfg.MetricsURL)
		if err == nil {
			watch.see(s)
			pending, ok := s.get(metricPending)
			switch {
			case ok && pending == 0:
				return s, nil
			case !ok && time.Since(start) >= l.tm.settleBlind:
				rep.warnf("server does not report %s; took figures %s after the load", metricPending, l.tm.settleBlind)
				return s, nil
			case time.Since(start) >= l.tm.settleMax:
				rep.warnf("server still had %.0f bytes pending %s after the load; stored bytes may be short", pending, l.tm.settleMax)
				return s, nil
			}
		} else if time.Since(start) >= l.tm.settleMax {
			return sample{}, err
		}
		select {
		case <-ctx.Done():
		case <-time.After(l.tm.settlePoll):
		}
	}
}

// figures computes the server figures from the scrapes before and after.
func (w *watcher) figures(after sample, acked int64, rep *Report) Server {
	s := Server{WallSeconds: after.at.Sub(w.before.at).Seconds()}
	unknown := func(name string) {
		if _, ok := after.get(name); ok {
			rep.warnf("%s went down during the run: did the server restart?", name)
			return
		}
		rep.warnf("server does not report %s", name)
	}
	if cpu, ok := delta(w.before, after, metricCPU); ok {
		s.CPUSeconds = ptr(cpu)
		if s.WallSeconds > 0 {
			s.Cores = ptr(cpu / s.WallSeconds)
		}
		if cpu > 0 && acked > 0 {
			s.SpansPerSecondPerCore = ptr(float64(acked) / cpu)
		}
	} else {
		unknown(metricCPU)
	}
	if written, ok := delta(w.before, after, metricWritten); ok {
		s.StoredBytes = ptr(written)
		if acked > 0 {
			s.BytesPerSpan = ptr(written / float64(acked))
		}
	} else {
		unknown(metricWritten)
	}
	if w.sawRSS {
		s.PeakRSSBytes = ptr(w.peakRSS)
	} else {
		unknown(metricRSS)
	}
	if accepted, ok := delta(w.before, after, metricAccepted); ok {
		s.SpansAccepted = ptr(accepted)
		switch {
		case accepted < float64(acked):
			rep.warnf("server accepted %s spans but acknowledged %s (sampled out, or acknowledged without storing?); per-span figures are over acknowledged spans",
				group(int64(accepted)), group(acked))
		case accepted > float64(acked):
			rep.warnf("server accepted %s spans, more than the %s this run sent: other traffic inflates its figures",
				group(int64(accepted)), group(acked))
		}
	} else {
		unknown(metricAccepted)
	}
	return s
}

func ptr(v float64) *float64 { return &v }

// splitmix is SplitMix64's output function: it turns counters into
// well-spread seeds.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
