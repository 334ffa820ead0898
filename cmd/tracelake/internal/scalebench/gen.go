package scalebench

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// fileSpec is one ingest file to generate: its ordinary traces start in
// [from, to), a slice of one hour.
type fileSpec struct {
	index    int
	from, to time.Time
	hourEnd  time.Time
	traces   int // ordinary traces
	spans    int // their spans
	big      int // big traces besides them
}

// planFiles spreads cfg's traces and spans over cfg.Hours hours from
// start, busier in the afternoon than at night, and each hour over files
// of about cfg.FileSpans spans covering equal slices of it. The totals are
// exact.
func planFiles(cfg Config, start time.Time) []fileSpec {
	weights := make([]float64, cfg.Hours)
	for h := range weights {
		hod := start.Add(time.Duration(h) * time.Hour).Hour()
		weights[h] = 1 + 0.5*math.Sin(2*math.Pi*float64(hod-9)/24)
	}
	normalTraces := cfg.Traces - cfg.BigTraces
	normalSpans := cfg.Spans - cfg.BigTraces*cfg.BigTraceSpans
	// Every hour gets at least one trace: apportion the rest.
	traces := apportion(normalTraces-cfg.Hours, weights)
	for h := range traces {
		traces[h]++
	}
	// Spans follow traces, each trace having at least one.
	spans := apportion(normalSpans-normalTraces, weights)
	for h := range spans {
		spans[h] += traces[h]
	}
	bigs := make([]int, cfg.Hours)
	for k := range cfg.BigTraces {
		bigs[(2*k+1)*cfg.Hours/(2*cfg.BigTraces)]++
	}

	var files []fileSpec
	for h := range cfg.Hours {
		hourStart := start.Add(time.Duration(h) * time.Hour)
		n := max(1, int(math.Round(float64(spans[h])/float64(cfg.FileSpans))))
		n = min(n, traces[h])
		even := make([]float64, n)
		for i := range even {
			even[i] = 1
		}
		// Each file gets at least one trace and as many spans as traces.
		ft := apportion(traces[h]-n, even)
		for i := range ft {
			ft[i]++
		}
		fs := apportion(spans[h]-traces[h], even)
		slice := time.Hour / time.Duration(n)
		for i := range n {
			f := fileSpec{
				index:   len(files),
				from:    hourStart.Add(time.Duration(i) * slice),
				to:      hourStart.Add(time.Duration(i+1) * slice),
				hourEnd: hourStart.Add(time.Hour),
				traces:  ft[i],
				spans:   ft[i] + fs[i],
			}
			if i == 0 {
				f.big = bigs[h]
			}
			files = append(files, f)
		}
	}
	return files
}

// apportion splits total into integer shares proportional to weights
// (largest remainder).
func apportion(total int, weights []float64) []int {
	out := make([]int, len(weights))
	if total <= 0 {
		return out
	}
	var sum float64
	for _, w := range weights {
		sum += w
	}
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, len(weights))
	given := 0
	for i, w := range weights {
		exact := float64(total) * w / sum
		out[i] = int(exact)
		given += out[i]
		rems[i] = rem{i, exact - float64(out[i])}
	}
	// Hand out what rounding down left, largest remainder first (stable).
	for given < total {
		best := -1
		for j, r := range rems {
			if best < 0 || r.r > rems[best].r {
				best = j
			}
		}
		out[rems[best].i]++
		rems[best].r = -1
		given++
	}
	return out
}

// traceSample is a generated trace to look up later.
type traceSample struct {
	id      pcommon.TraceID
	spans   int
	service string // of the root span
	big     bool
}

// userSample is a user.id that some trace's entry span carries.
type userSample struct {
	user, service string
}

// generated is one file's traces and what the run keeps of them.
type generated struct {
	td               ptrace.Traces
	spans, traces    int
	errors           int
	minStart, maxEnd int64
	samples          []traceSample
	users            []userSample
}

// samplesPerFile is how many traces (and users) of each file are kept
// as candidates for lookups and searches.
const samplesPerFile = 8

// generator makes the traces of one file at a time. It is not safe for
// concurrent use; the world it reads is.
type generator struct {
	w       *world
	rng     *rand.Rand
	errRate float64

	out   *generated
	byRes map[int]ptrace.SpanSlice // by service<<8 | instance
	ctxs  []spanCtx
}

// spanCtx is a server (or consumer) span under which a service does work.
type spanCtx struct {
	svc, inst  int
	id         pcommon.SpanID
	start, end int64
}

func newGenerator(w *world, seed uint64, index int, errRate float64) *generator {
	return &generator{w: w, rng: rand.New(rand.NewPCG(seed, uint64(index)+1)), errRate: errRate}
}

// file generates spec's traces.
func (g *generator) file(spec fileSpec, bigSpans int) *generated {
	g.out = &generated{td: ptrace.NewTraces(), minStart: math.MaxInt64}
	g.byRes = map[int]ptrace.SpanSlice{}
	from, width := spec.from.UnixNano(), spec.to.Sub(spec.from).Nanoseconds()
	for _, n := range traceSizes(g.rng, spec.traces, spec.spans) {
		root := g.w.roots[pick(g.rng, g.w.rootsCum)]
		g.trace(from+g.rng.Int64N(width), n, root, false)
	}
	for range spec.big {
		// A batch job of a business service.
		var business []int
		for i, s := range g.w.services {
			if s.layer == 1 {
				business = append(business, i)
			}
		}
		g.trace(from+g.rng.Int64N(width), bigSpans, business[g.rng.IntN(len(business))], true)
	}
	out := g.out
	g.out, g.byRes = nil, nil
	return out
}

// traceSizes splits spans over n traces of at least one span each,
// log-normally: most traces are small, a few have hundreds of spans.
func traceSizes(rng *rand.Rand, n, spans int) []int {
	sizes := make([]int, n)
	extra := spans - n
	if n == 0 || extra <= 0 {
		for i := range sizes {
			sizes[i] = 1
		}
		return sizes
	}
	w := make([]float64, n)
	var sum float64
	for i := range w {
		w[i] = math.Exp(1.1 * rng.NormFloat64())
		sum += w[i]
	}
	given := 0
	for i := range sizes {
		add := int(float64(extra) * w[i] / sum)
		sizes[i] = 1 + add
		given += add
	}
	for ; given < extra; given++ {
		sizes[rng.IntN(n)]++
	}
	return sizes
}

// trace generates one trace of exactly n spans rooted at service root.
func (g *generator) trace(start int64, n, root int, big bool) {
	tid := g.traceID()
	s := g.w.services[root]
	op := s.ops[pick(g.rng, s.opsCum)]
	var dur int64
	if big {
		dur = int64(20*time.Second) + g.rng.Int64N(int64(70*time.Second))
	} else {
		dur = g.lognormal(op.median*(1+math.Sqrt(float64(n))/2), op.sigma+0.2)
	}
	inst := g.rng.IntN(len(s.resources))
	failed := g.failed()
	sp := g.span(tid, root, inst, pcommon.SpanID{}, op.name, ptrace.SpanKindServer, start, start+dur, false)
	var user string
	if s.layer == 0 {
		user = "user-" + strconv.Itoa(g.rng.IntN(g.w.users))
	}
	g.serverAttrs(sp, s, op, failed, user)

	o := g.out
	o.traces++
	if len(o.samples) < samplesPerFile || big {
		o.samples = append(o.samples, traceSample{id: tid, spans: n, service: s.name, big: big})
	}
	if user != "" && len(o.users) < samplesPerFile {
		o.users = append(o.users, userSample{user: user, service: s.name})
	}

	g.ctxs = append(g.ctxs[:0], spanCtx{svc: root, inst: inst, id: sp.SpanID(), start: start, end: start + dur})
	for left := n - 1; left > 0; {
		c := g.ctxs[g.rng.IntN(len(g.ctxs))]
		cs := g.w.services[c.svc]
		canCall := len(cs.down) > 0 && left >= 2
		canMsg := cs.produces != "" && left >= 2
		var wCall, wDB, wMsg float64
		if canCall {
			wCall = 0.5
		}
		if cs.db != "" {
			wDB = 0.25
		}
		if canMsg {
			wMsg = 0.04
		}
		x := g.rng.Float64() * (wCall + wDB + wMsg + 0.21)
		switch {
		case x < wCall:
			g.call(tid, c)
			left -= 2
		case x < wCall+wDB:
			g.dbCall(tid, c)
			left--
		case x < wCall+wDB+wMsg:
			g.message(tid, c)
			left -= 2
		default:
			g.internal(tid, c)
			left--
		}
	}
}

// window picks when a synchronous child of c starts and how long it may
// take.
func (g *generator) window(c spanCtx) (start, avail int64) {
	d := c.end - c.start
	start = c.start + int64(float64(d)*(0.02+0.58*g.rng.Float64()))
	return start, c.end - start
}

func (g *generator) call(tid pcommon.TraceID, c spanCtx) {
	from := g.w.services[c.svc]
	ti := from.down[pick(g.rng, from.downCum)]
	to := g.w.services[ti]
	op := to.ops[pick(g.rng, to.opsCum)]
	start, avail := g.window(c)
	net := int64(200*time.Microsecond) + g.rng.Int64N(int64(1300*time.Microsecond))
	server := g.lognormal(op.median, op.sigma)
	client := server + 2*net
	if limit := avail * 95 / 100; client > limit {
		client = max(int64(float64(avail)*(0.5+0.45*g.rng.Float64())), 2)
		net = min(net, client/10)
		server = client - 2*net
	}
	failed := g.failed()
	name := op.name
	if to.proto == protoHTTP {
		name = op.method // OpenTelemetry names HTTP client spans by method
	}
	cl := g.span(tid, c.svc, c.inst, c.id, name, ptrace.SpanKindClient, start, start+client, false)
	inst := g.rng.IntN(len(to.resources))
	sv := g.span(tid, ti, inst, cl.SpanID(), op.name, ptrace.SpanKindServer, start+net, start+net+server, true)
	status := g.serverAttrs(sv, to, op, failed, "")
	g.clientAttrs(cl, to, op, failed, status)
	g.ctxs = append(g.ctxs, spanCtx{svc: ti, inst: inst, id: sv.SpanID(), start: start + net, end: start + net + server})
}

func (g *generator) dbCall(tid pcommon.TraceID, c spanCtx) {
	s := g.w.services[c.svc]
	st := s.stmts[g.rng.IntN(len(s.stmts))]
	start, avail := g.window(c)
	d := min(g.lognormal(0.8, 1.0), max(avail*9/10, 1))
	sp := g.span(tid, c.svc, c.inst, c.id, st.name, ptrace.SpanKindClient, start, start+d, false)
	a := sp.Attributes()
	a.EnsureCapacity(5)
	a.PutStr("db.system", s.db)
	a.PutStr("db.namespace", s.dbName)
	a.PutStr("db.operation.name", st.op)
	a.PutStr("db.query.text", st.text)
	a.PutStr("server.address", s.dbHost)
	if g.failed() {
		msg := dbErrors[g.rng.IntN(len(dbErrors))]
		g.fail(sp, msg[0], msg[1])
		a.PutStr("error.type", msg[0])
	}
}

func (g *generator) message(tid pcommon.TraceID, c spanCtx) {
	s := g.w.services[c.svc]
	ci := s.consumers[g.rng.IntN(len(s.consumers))]
	start, avail := g.window(c)
	d := min(g.lognormal(1.5, 0.6), max(avail*9/10, 1))
	p := g.span(tid, c.svc, c.inst, c.id, s.produces+" publish", ptrace.SpanKindProducer, start, start+d, false)
	a := p.Attributes()
	a.EnsureCapacity(3)
	a.PutStr("messaging.system", "kafka")
	a.PutStr("messaging.destination.name", s.produces)
	a.PutStr("messaging.operation.type", "send")
	// The consumer runs after the message waited in the topic, possibly
	// after the producing request ended.
	cstart := start + d + g.lognormal(5, 1.0)
	cd := g.lognormal(20, 0.8)
	inst := g.rng.IntN(len(g.w.services[ci].resources))
	cons := g.span(tid, ci, inst, p.SpanID(), s.produces+" process", ptrace.SpanKindConsumer, cstart, cstart+cd, true)
	a = cons.Attributes()
	a.EnsureCapacity(4)
	a.PutStr("messaging.system", "kafka")
	a.PutStr("messaging.destination.name", s.produces)
	a.PutStr("messaging.operation.type", "process")
	a.PutStr("messaging.consumer.group.name", g.w.services[ci].name)
	if g.failed() {
		g.fail(cons, "ProcessingError", "message handler failed: retries exhausted")
	}
	g.ctxs = append(g.ctxs, spanCtx{svc: ci, inst: inst, id: cons.SpanID(), start: cstart, end: cstart + cd})
}

func (g *generator) internal(tid pcommon.TraceID, c spanCtx) {
	s := g.w.services[c.svc]
	k := g.rng.IntN(len(s.internal))
	start, avail := g.window(c)
	d := min(g.lognormal(float64(avail)/float64(time.Millisecond)/5, 0.7), max(avail*9/10, 1))
	sp := g.span(tid, c.svc, c.inst, c.id, s.internal[k], ptrace.SpanKindInternal, start, start+d, false)
	sp.Attributes().PutStr("code.function.name", s.internalFn[k])
	if g.failed() {
		g.fail(sp, "ValidationError", "invalid state: "+s.internal[k])
	}
}

var (
	grpcErrors = [][2]string{
		{"14", "rpc error: code = Unavailable desc = connection refused"},
		{"4", "rpc error: code = DeadlineExceeded desc = context deadline exceeded"},
		{"13", "rpc error: code = Internal desc = unexpected EOF"},
		{"2", "rpc error: code = Unknown desc = upstream failure"},
	}
	dbErrors = [][2]string{
		{"40P01", "deadlock detected"},
		{"ECONNRESET", "read: connection reset by peer"},
		{"57014", "canceling statement due to statement timeout"},
	}
	userAgents = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_7_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
		"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
		"shop-ios/5.12.0 (iPhone15,2; iOS 18.1)",
		"shop-android/5.11.3 (Pixel 8; Android 14)",
		"okhttp/4.12.0",
	}
)

// serverAttrs sets a server span's attributes and status; it returns the
// HTTP status code (or gRPC status) its client sees.
func (g *generator) serverAttrs(sp ptrace.Span, s *service, op operation, failed bool, user string) int64 {
	a := sp.Attributes()
	var status int64
	if s.proto == protoHTTP {
		status = g.httpStatus(failed)
		a.EnsureCapacity(7)
		a.PutStr("http.request.method", op.method)
		a.PutStr("http.route", op.route)
		a.PutInt("http.response.status_code", status)
		a.PutStr("url.scheme", "https")
		a.PutStr("network.protocol.version", "1.1")
		if user != "" {
			a.PutStr("user.id", user)
			a.PutStr("user_agent.original", userAgents[g.rng.IntN(len(userAgents))])
		}
		if failed {
			// HTTP server spans carry no status message (semantic
			// conventions); the exception event says what happened.
			g.fail(sp, "", "")
			a.PutStr("error.type", strconv.FormatInt(status, 10))
		}
		return status
	}
	a.EnsureCapacity(5)
	a.PutStr("rpc.system", "grpc")
	a.PutStr("rpc.service", s.rpcSvc)
	a.PutStr("rpc.method", op.route)
	if failed {
		e := grpcErrors[g.rng.IntN(len(grpcErrors))]
		status, _ = strconv.ParseInt(e[0], 10, 64)
		a.PutInt("rpc.grpc.status_code", status)
		g.fail(sp, "", e[1])
	} else {
		a.PutInt("rpc.grpc.status_code", 0)
	}
	if user != "" {
		a.PutStr("user.id", user)
	}
	return status
}

func (g *generator) clientAttrs(sp ptrace.Span, to *service, op operation, failed bool, status int64) {
	a := sp.Attributes()
	if to.proto == protoHTTP {
		a.EnsureCapacity(5)
		a.PutStr("http.request.method", op.method)
		a.PutStr("server.address", to.name)
		a.PutInt("server.port", to.port)
		a.PutStr("url.full", op.url)
		a.PutInt("http.response.status_code", status)
		if failed {
			g.fail(sp, "", "")
			a.PutStr("error.type", strconv.FormatInt(status, 10))
		}
		return
	}
	a.EnsureCapacity(6)
	a.PutStr("rpc.system", "grpc")
	a.PutStr("rpc.service", to.rpcSvc)
	a.PutStr("rpc.method", op.route)
	a.PutStr("server.address", to.name)
	a.PutInt("server.port", to.port)
	a.PutInt("rpc.grpc.status_code", status)
	if failed {
		sp.Status().SetCode(ptrace.StatusCodeError)
		g.out.errors++
	}
}

func (g *generator) httpStatus(failed bool) int64 {
	x := g.rng.IntN(100)
	switch {
	case failed && x < 70:
		return 500
	case failed && x < 90:
		return 503
	case failed:
		return 502
	case x < 94:
		return 200
	case x < 96:
		return 201
	case x < 97:
		return 304
	case x < 99:
		return 404
	default:
		return 400
	}
}

// fail marks sp as an error; half of the failures also record an
// exception event.
func (g *generator) fail(sp ptrace.Span, excType, msg string) {
	sp.Status().SetCode(ptrace.StatusCodeError)
	if msg != "" {
		sp.Status().SetMessage(msg)
	}
	g.out.errors++
	if g.rng.IntN(2) == 0 {
		return
	}
	if excType == "" {
		excType, msg = "UpstreamError", "upstream request failed"
	}
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(sp.EndTimestamp() - 1000)
	ev.Attributes().PutStr("exception.type", excType)
	ev.Attributes().PutStr("exception.message", msg)
}

// failed draws whether an operation fails. A failed call marks both its
// client and server span, so the share of error spans is errRate.
func (g *generator) failed() bool { return g.rng.Float64() < g.errRate }

// span appends a span to its resource's spans. remote says the parent is
// in another process (server and consumer spans).
func (g *generator) span(tid pcommon.TraceID, svc, inst int, parent pcommon.SpanID, name string, kind ptrace.SpanKind, start, end int64, remote bool) ptrace.Span {
	sp := g.spans(svc, inst).AppendEmpty()
	sp.SetTraceID(tid)
	sp.SetSpanID(g.spanID())
	sp.SetParentSpanID(parent)
	sp.SetName(name)
	sp.SetKind(kind)
	sp.SetStartTimestamp(pcommon.Timestamp(start))
	sp.SetEndTimestamp(pcommon.Timestamp(end))
	// W3C sampled, plus OTLP's "is the parent remote" bits.
	flags := uint32(0x101)
	if remote {
		flags = 0x301
	}
	sp.SetFlags(flags)
	o := g.out
	o.spans++
	o.minStart = min(o.minStart, start)
	o.maxEnd = max(o.maxEnd, end)
	return sp
}

// spans is the span list of one service instance in the file: one
// resource each, as an SDK's export batches are.
func (g *generator) spans(svc, inst int) ptrace.SpanSlice {
	k := svc<<8 | inst
	if ss, ok := g.byRes[k]; ok {
		return ss
	}
	s := g.w.services[svc]
	rs := g.out.td.ResourceSpans().AppendEmpty()
	attrs := rs.Resource().Attributes()
	res := s.resources[inst]
	attrs.EnsureCapacity(len(res))
	for _, a := range res {
		if a.isNum {
			attrs.PutInt(a.key, a.num)
		} else {
			attrs.PutStr(a.key, a.str)
		}
	}
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.37.0")
	sc := rs.ScopeSpans().AppendEmpty()
	sc.Scope().SetName(s.scope)
	sc.Scope().SetVersion(s.scopeVer)
	ss := sc.Spans()
	g.byRes[k] = ss
	return ss
}

// lognormal returns a duration in ns whose median is medianMs.
func (g *generator) lognormal(medianMs, sigma float64) int64 {
	d := medianMs * float64(time.Millisecond) * math.Exp(sigma*g.rng.NormFloat64())
	return int64(min(max(d, float64(20*time.Microsecond)), float64(60*time.Second)))
}

func (g *generator) traceID() pcommon.TraceID {
	var id pcommon.TraceID
	for id.IsEmpty() {
		a, b := g.rng.Uint64(), g.rng.Uint64()
		for i := range 8 {
			id[i], id[8+i] = byte(a>>(8*i)), byte(b>>(8*i))
		}
	}
	return id
}

func (g *generator) spanID() pcommon.SpanID {
	var id pcommon.SpanID
	for id.IsEmpty() {
		a := g.rng.Uint64()
		for i := range 8 {
			id[i] = byte(a >> (8 * i))
		}
	}
	return id
}
