package plugintool

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/wasm/host"
)

// ErrPluginFailed is returned (wrapped) by Test when the plugin failed a
// batch, whatever the policy made of it.
var ErrPluginFailed = errors.New("the plugin failed")

// TestReport is what Test found: every input span's fate, per-batch
// results and a summary.
type TestReport struct {
	Plugin PluginInfo `json:"plugin"`
	Input  InputInfo  `json:"input"`
	// Spans are the input's spans in the order the host passes them to
	// the plugin.
	Spans   []SpanResult  `json:"spans"`
	Batches []BatchResult `json:"batches"`
	Summary TestSummary   `json:"summary"`
	// Logs are what the host logged while loading and running the plugin,
	// the plugin's own log messages among them (the host rate-limits
	// those).
	Logs []LogRecord `json:"logs"`
	// Warnings qualify the report.
	Warnings []string `json:"warnings,omitempty"`
}

// InputInfo describes the spans a report is about.
type InputInfo struct {
	Path   string `json:"path"`
	Format string `json:"format"`
	Spans  int    `json:"spans"`
	// BatchSize is the most spans per plugin call (the whole input when
	// --batch-size is 0).
	BatchSize int `json:"batch_size"`
}

// SpanResult is one span's decision and the edits the host applied to it.
type SpanResult struct {
	TraceID string `json:"trace_id"`
	SpanID  string `json:"span_id"`
	Service string `json:"service"`
	Name    string `json:"name"`
	// Batch is the index of the plugin call the span was in.
	Batch int `json:"batch"`
	// Decision is "keep" or "drop".
	Decision string `json:"decision"`
	// Failed says the plugin failed the span's batch, so the policy made
	// the decision.
	Failed bool `json:"failed,omitempty"`
	// Deleted are attributes the span lost, with the values they had; Set
	// are attributes added or changed.
	Deleted    []Attribute   `json:"deleted,omitempty"`
	Set        []AttrChange  `json:"set,omitempty"`
	TraceState *StringChange `json:"trace_state,omitempty"`
}

// Attribute is an attribute's key and value (a string, bool, int, float,
// base64 bytes, array or map, as OTLP/JSON's AnyValue would hold it).
type Attribute struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
}

// AttrChange is an attribute set by the plugin; Old is its value before,
// absent when the span did not have it.
type AttrChange struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
	Old   *any   `json:"old,omitempty"`
}

// StringChange is a trace state replaced by the plugin.
type StringChange struct {
	Old string `json:"old"`
	New string `json:"new"`
}

// BatchResult is one plugin call.
type BatchResult struct {
	Spans   int `json:"spans"`
	Kept    int `json:"kept"`
	Dropped int `json:"dropped"`
	// Edits are the edits the host applied (host.Stats.Edits): setting an
	// attribute to the value it had counts, though no diff shows it.
	Edits int `json:"edits"`
	// Failure is why the plugin failed the batch; empty when it did not.
	Failure string `json:"failure,omitempty"`
	// Nanos is the time Plugin.Process took on the batch.
	Nanos int64 `json:"ns"`
}

// TestSummary sums a report up.
type TestSummary struct {
	SpansIn     int     `json:"spans_in"`
	Kept        int     `json:"kept"`
	KeptPercent float64 `json:"kept_percent"`
	Dropped     int     `json:"dropped"`
	// Edits are the edits the host applied; Changes the attribute and
	// trace state changes a diff of the spans shows, on ChangedSpans
	// spans.
	Edits        int `json:"edits"`
	Changes      int `json:"changes"`
	ChangedSpans int `json:"changed_spans"`
	// Batches are the plugin calls; FailedBatches those the plugin failed,
	// holding FailedSpans spans, which Policy decided.
	Batches       int    `json:"batches"`
	FailedBatches int    `json:"failed_batches"`
	FailedSpans   int    `json:"failed_spans"`
	Policy        string `json:"policy"`
	// Nanos is the time spent in Plugin.Process over all batches, and
	// NanosPerSpan that over SpansIn: one run, on a cold instance, so only
	// a rough figure; "plugin bench" measures.
	Nanos        int64   `json:"ns"`
	NanosPerSpan float64 `json:"ns_per_span"`
}

// LogRecord is one message the host logged.
type LogRecord struct {
	Level   string `json:"level"`
	Message string `json:"message"`
	// Attrs are the record's attributes but the plugin's name.
	Attrs map[string]string `json:"attrs,omitempty"`
}

// Err is ErrPluginFailed, with the first failure, when the plugin failed
// a batch, and nil otherwise.
func (r *TestReport) Err() error {
	for i, b := range r.Batches {
		if b.Failure != "" {
			first, _, _ := strings.Cut(b.Failure, "\n")
			return fmt.Errorf("%w %d of %d batches (%s, policy %s); batch %d: %s",
				ErrPluginFailed, r.Summary.FailedBatches, r.Summary.Batches, plural(r.Summary.FailedSpans, "span"), r.Summary.Policy, i, first)
		}
	}
	return nil
}

// Test runs the plugin cfg names over the spans in cfg.Input and prints
// each span's decision and edits, and a summary, as text or JSON. It
// returns an error wrapping ErrPluginFailed, after printing, when the
// plugin failed a batch.
func Test(ctx context.Context, cfg TestConfig, stdout io.Writer) error {
	r, err := runTest(ctx, cfg)
	if err != nil {
		return err
	}
	if cfg.JSON {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	return r.Err()
}

func runTest(ctx context.Context, cfg TestConfig) (*TestReport, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hcfg, err := cfg.hostConfig()
	if err != nil {
		return nil, err
	}
	td, format, err := readTracesFile(cfg.Input)
	if err != nil {
		return nil, err
	}
	batchSize := cfg.BatchSize
	if batchSize == 0 {
		batchSize = td.SpanCount()
	}
	// One instance, reused batch after batch as ingest would reuse it, so
	// state a plugin keeps shows as it would.
	hcfg.MinInstances, hcfg.MaxInstances = 1, 1
	hcfg.MaxBatchSpans = batchSize

	logs := newLogCollector()
	now := time.Now
	if !cfg.Now.IsZero() {
		now = func() time.Time { return cfg.Now }
	}
	// Every log line: an author testing a plugin wants to see all it says.
	loader, err := host.NewLoader(host.LoaderConfig{CacheDir: cfg.CacheDir, Logger: slog.New(logs), Now: now, LogEvery: -1})
	if err != nil {
		return nil, err
	}
	defer loader.Close(context.WithoutCancel(ctx))
	p, err := loader.Load(ctx, hcfg)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer p.Close(context.WithoutCancel(ctx))

	r := &TestReport{
		Plugin: pluginInfo(cfg.Path, hcfg, p.Features()),
		Input:  InputInfo{Path: cfg.Input, Format: format, Spans: td.SpanCount(), BatchSize: batchSize},
		Spans:  []SpanResult{},
	}
	for bi, batch := range split(td, batchSize) {
		before := clone(batch)
		start := time.Now()
		st, err := p.Process(ctx, batch)
		elapsed := time.Since(start)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", bi, err)
		}
		b := BatchResult{Spans: before.SpanCount(), Kept: st.Kept, Dropped: st.Dropped, Edits: st.Edits, Nanos: elapsed.Nanoseconds()}
		if st.Failure != nil {
			b.Failure = st.Failure.Error()
		}
		spans, warnings := diff(before, batch, bi, st.Failure != nil)
		r.Spans = append(r.Spans, spans...)
		r.Warnings = append(r.Warnings, warnings...)
		r.Batches = append(r.Batches, b)
	}
	r.Logs = logs.records()
	r.summarise(hcfg.Policy)
	return r, nil
}

func (r *TestReport) summarise(policy host.Policy) {
	s := TestSummary{SpansIn: len(r.Spans), Batches: len(r.Batches), Policy: policy.String()}
	for _, sp := range r.Spans {
		if sp.Decision == "keep" {
			s.Kept++
		} else {
			s.Dropped++
		}
		n := len(sp.Deleted) + len(sp.Set)
		if sp.TraceState != nil {
			n++
		}
		s.Changes += n
		if n > 0 {
			s.ChangedSpans++
		}
	}
	kept := 0
	for _, b := range r.Batches {
		s.Edits += b.Edits
		s.Nanos += b.Nanos
		kept += b.Kept
		if b.Failure != "" {
			s.FailedBatches++
			s.FailedSpans += b.Spans
		}
	}
	if kept != s.Kept {
		r.Warnings = append(r.Warnings, fmt.Sprintf("the host counted %d spans kept, the diff %d", kept, s.Kept))
	}
	if s.SpansIn > 0 {
		s.KeptPercent = 100 * float64(s.Kept) / float64(s.SpansIn)
		s.NanosPerSpan = float64(s.Nanos) / float64(s.SpansIn)
	}
	r.Summary = s
}

// spanKey identifies a span across the plugin call: the plugin can change
// neither IDs, name nor start time.
type spanKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
	name  string
	start pcommon.Timestamp
}

func keyOf(s ptrace.Span) spanKey {
	return spanKey{s.TraceID(), s.SpanID(), s.Name(), s.StartTimestamp()}
}

// diff matches before's spans with after's (what Process left of a copy
// of before) and reports each span of before: dropped when it is gone,
// else with the differences in attributes and trace state.
func diff(before, after ptrace.Traces, batch int, failed bool) ([]SpanResult, []string) {
	var warnings []string
	kept := map[spanKey][]ptrace.Span{}
	for _, r := range spanRefs(after) {
		k := keyOf(r.span)
		kept[k] = append(kept[k], r.span)
	}
	seen := map[spanKey]bool{}
	refs := spanRefs(before)
	out := make([]SpanResult, 0, len(refs))
	for _, r := range refs {
		s := r.span
		k := keyOf(s)
		if seen[k] {
			warnings = append(warnings, fmt.Sprintf("batch %d: spans %s/%s %q share IDs, name and start time; their decisions and edits may be swapped", batch, s.TraceID(), s.SpanID(), s.Name()))
		}
		seen[k] = true
		res := SpanResult{
			TraceID: s.TraceID().String(), SpanID: s.SpanID().String(),
			Service: serviceName(r.rs.Resource()), Name: s.Name(),
			Batch: batch, Decision: "drop", Failed: failed,
		}
		if cands := kept[k]; len(cands) > 0 {
			res.Decision = "keep"
			a := cands[0]
			kept[k] = cands[1:]
			res.Deleted, res.Set = diffAttributes(s.Attributes(), a.Attributes())
			if b, a := s.TraceState().AsRaw(), a.TraceState().AsRaw(); b != a {
				res.TraceState = &StringChange{Old: b, New: a}
			}
		}
		out = append(out, res)
	}
	return out, warnings
}

// diffAttributes lists the keys of before missing from after, in before's
// order, and the keys of after new or with another value, in after's. A
// key repeated in a map (which OTLP forbids) is compared by its first
// value.
func diffAttributes(before, after pcommon.Map) (deleted []Attribute, set []AttrChange) {
	for k, v := range before.All() {
		if _, ok := after.Get(k); !ok && !slices.ContainsFunc(deleted, func(a Attribute) bool { return a.Key == k }) {
			deleted = append(deleted, Attribute{k, v.AsRaw()})
		}
	}
	for k, v := range after.All() {
		if slices.ContainsFunc(set, func(a AttrChange) bool { return a.Key == k }) {
			continue
		}
		old, ok := before.Get(k)
		switch {
		case !ok:
			set = append(set, AttrChange{Key: k, Value: v.AsRaw()})
		case !old.Equal(v):
			o := old.AsRaw()
			set = append(set, AttrChange{Key: k, Value: v.AsRaw(), Old: &o})
		}
	}
	return deleted, set
}

// logCollector is a slog.Handler keeping every record.
type logCollector struct {
	sink  *logSink
	attrs []slog.Attr
}

type logSink struct {
	mu   sync.Mutex
	recs []LogRecord
}

func newLogCollector() *logCollector { return &logCollector{sink: &logSink{}} }

func (c *logCollector) Enabled(context.Context, slog.Level) bool { return true }

func (c *logCollector) Handle(_ context.Context, r slog.Record) error {
	rec := LogRecord{Level: r.Level.String(), Message: r.Message}
	add := func(a slog.Attr) bool {
		if a.Key == "plugin" { // there is only one
			return true
		}
		if rec.Attrs == nil {
			rec.Attrs = map[string]string{}
		}
		rec.Attrs[a.Key] = a.Value.String()
		return true
	}
	for _, a := range c.attrs {
		add(a)
	}
	r.Attrs(add)
	c.sink.mu.Lock()
	defer c.sink.mu.Unlock()
	c.sink.recs = append(c.sink.recs, rec)
	return nil
}

func (c *logCollector) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logCollector{sink: c.sink, attrs: append(slices.Clip(c.attrs), attrs...)}
}

func (c *logCollector) WithGroup(string) slog.Handler { return c }

func (c *logCollector) records() []LogRecord {
	c.sink.mu.Lock()
	defer c.sink.mu.Unlock()
	return append([]LogRecord{}, c.sink.recs...)
}

// WriteJSON writes the report as indented JSON.
func (r *TestReport) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report for people to read.
func (r *TestReport) WriteText(w io.Writer) error {
	tw := &textWriter{w: w}
	p, in := r.Plugin, r.Input
	tw.printf("plugin %s (%s, %s), policy %s\n", p.Path, bytesText(p.ModuleBytes), p.featureText(), p.Policy)
	tw.printf("input %s (%s): %s in %s of up to %d\n\n", in.Path, in.Format, plural(in.Spans, "span"), plural(len(r.Batches), "batch"), in.BatchSize)

	svcWidth := len("SERVICE")
	for _, s := range r.Spans {
		svcWidth = max(svcWidth, len(s.Service))
	}
	tw.printf("%-8s %-32s %-16s %-*s %s\n", "DECISION", "TRACE ID", "SPAN ID", svcWidth, "SERVICE", "NAME")
	for i, s := range r.Spans {
		if i > 0 && s.Batch != r.Spans[i-1].Batch {
			tw.printf("-- batch %d\n", s.Batch)
		}
		decision := s.Decision
		if s.Failed {
			decision += "*"
		}
		tw.printf("%-8s %-32s %-16s %-*s %s\n", decision, s.TraceID, s.SpanID, svcWidth, s.Service, strconv.Quote(s.Name))
		for _, a := range s.Deleted {
			tw.printf("           - %s (was %s)\n", a.Key, valueText(a.Value))
		}
		for _, a := range s.Set {
			if a.Old != nil {
				tw.printf("           ~ %s = %s (was %s)\n", a.Key, valueText(a.Value), valueText(*a.Old))
			} else {
				tw.printf("           + %s = %s\n", a.Key, valueText(a.Value))
			}
		}
		if ts := s.TraceState; ts != nil {
			tw.printf("           ~ trace state %q (was %q)\n", ts.New, ts.Old)
		}
	}

	s := r.Summary
	tw.printf("\nsummary\n")
	tw.row("spans in", "%d", s.SpansIn)
	tw.row("kept", "%d (%.1f%%)", s.Kept, s.KeptPercent)
	tw.row("dropped", "%d", s.Dropped)
	tw.row("edits", "%d applied, %d changes on %s", s.Edits, s.Changes, plural(s.ChangedSpans, "span"))
	if s.FailedBatches == 0 {
		tw.row("failures", "none (policy %s)", s.Policy)
	} else {
		tw.row("failures", "%d of %d batches, %s decided by policy %s (marked *)", s.FailedBatches, s.Batches, plural(s.FailedSpans, "span"), s.Policy)
		// The same failure in every batch is common (a plugin that traps
		// on every input): print each distinct one once.
		var msgs []string
		batches := map[string][]string{}
		for i, b := range r.Batches {
			if b.Failure == "" {
				continue
			}
			if batches[b.Failure] == nil {
				msgs = append(msgs, b.Failure)
			}
			batches[b.Failure] = append(batches[b.Failure], strconv.Itoa(i))
		}
		for _, m := range msgs {
			first, rest, _ := strings.Cut(m, "\n")
			which := "batch "
			if len(batches[m]) > 1 {
				which = "batches "
			}
			tw.row("", "%s%s: %s", which, strings.Join(batches[m], ", "), first)
			for line := range strings.Lines(rest) {
				tw.row("", "  %s", strings.ReplaceAll(strings.TrimRight(line, "\n"), "\t", "  "))
			}
		}
	}
	tw.row("plugin call", "%s over %s, %.0f ns/span (one cold run; see plugin bench)", nanosText(float64(s.Nanos)), plural(s.Batches, "batch"), s.NanosPerSpan)
	// The host's notice of each failure (the record with a "failure"
	// attribute) repeats what the summary said; the JSON keeps it.
	var logs []LogRecord
	for _, l := range r.Logs {
		if _, ok := l.Attrs["failure"]; !ok {
			logs = append(logs, l)
		}
	}
	if len(logs) > 0 {
		tw.printf("\nhost log\n")
		for _, l := range logs {
			tw.printf("  %-5s %s%s\n", l.Level, l.Message, attrsText(l.Attrs))
		}
	}
	for _, warn := range r.Warnings {
		tw.printf("warning: %s\n", warn)
	}
	return tw.err
}

// valueText renders an attribute value: strings quoted, bytes as base64,
// everything else as JSON.
func valueText(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case []byte:
		return "base64:" + base64.StdEncoding.EncodeToString(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func attrsText(attrs map[string]string) string {
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%q", k, attrs[k])
	}
	return b.String()
}
