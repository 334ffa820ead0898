package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dustin/go-humanize"
	"github.com/spf13/pflag"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/tracelake/tracelake/query"
	"github.com/tracelake/tracelake/query/engine"
	"github.com/tracelake/tracelake/storage/block/index"
	"github.com/tracelake/tracelake/storage/objstore/client"
	"github.com/tracelake/tracelake/storage/spanfile/vparquet1"
	"github.com/tracelake/tracelake/storage/tracestore"
)

const inspectUsage = `usage:
  tracelake inspect blocks [flags]            the tenant's blocks and uncompacted files: time ranges, sizes, counts, bytes per span
  tracelake inspect block <ULID> [flags]      one block: meta, Parquet schema, row groups, index summary
  tracelake inspect trace <trace-id> [flags]  one trace as OTLP JSON, from blocks and files
flags: --storage (as for every role), --tenant (default: tenant.default), and the other settings
`

// runInspect is "tracelake inspect": a look inside the store.
func runInspect(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || !slices.Contains([]string{"blocks", "block", "trace"}, args[0]) {
		fmt.Fprint(stderr, inspectUsage)
		return fmt.Errorf("inspect: want a subcommand: blocks, block or trace")
	}
	sub, args := args[0], args[1:]
	var arg string
	if sub != "blocks" {
		if len(args) == 0 || strings.HasPrefix(args[0], "-") {
			fmt.Fprint(stderr, inspectUsage)
			return fmt.Errorf("inspect %s: want an ID", sub)
		}
		arg, args = args[0], args[1:]
	}
	fs := pflag.NewFlagSet("tracelake inspect "+sub, pflag.ContinueOnError)
	fs.SetOutput(stderr)
	tenantFlag := fs.String("tenant", "", "tenant to inspect (default: tenant.default)")
	cfg, err := loadConfig(fs, args, getenv)
	if err != nil {
		return err
	}
	tenantID := *tenantFlag
	if tenantID == "" {
		tenantID = cfg.Tenant.Default
	}
	bucket, err := client.Open(ctx, cfg.Storage.URL, getenv)
	if err != nil {
		return fmt.Errorf("storage.url: %w", err)
	}
	defer bucket.Close()
	store := tracestore.New(bucket, tracestore.Config{})
	switch sub {
	case "blocks":
		return inspectBlocks(ctx, store, tenantID, stdout)
	case "block":
		return inspectBlock(ctx, store, tenantID, arg, stdout)
	default:
		return inspectTrace(ctx, store, tenantID, arg, stdout)
	}
}

// listing is a full listing of a tenant, resolved as readers see it.
func listing(ctx context.Context, store *tracestore.Store, tenantID string) (used []*tracestore.BlockMeta, raw []tracestore.FileRef, rejected []*tracestore.BlockMeta, err error) {
	var files []tracestore.FileRef
	for f, err := range store.Files(ctx, tenantID, 0, 0) {
		if err != nil {
			return nil, nil, nil, err
		}
		files = append(files, f)
	}
	var blocks []*tracestore.BlockMeta
	for ref, err := range store.Blocks(ctx, tenantID, 0) {
		if err != nil {
			return nil, nil, nil, err
		}
		m, err := store.ReadBlockMeta(ctx, ref)
		if err != nil {
			return nil, nil, nil, err
		}
		blocks = append(blocks, m)
	}
	used, raw, rejected = tracestore.Resolve(blocks, files)
	return used, raw, rejected, nil
}

func inspectBlocks(ctx context.Context, store *tracestore.Store, tenantID string, w io.Writer) error {
	used, raw, rejected, err := listing(ctx, store, tenantID)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BLOCK\tWINDOW\tFIRST SPAN\tLAST SPAN END\tSPANS\tTRACES\tDUPS\tINPUTS\tDATA\tINDEX\tB/SPAN\tSTATUS")
	row := func(m *tracestore.BlockMeta, status string) {
		perSpan := 0.0
		if m.Spans > 0 {
			perSpan = float64(m.Sizes[tracestore.BlockData]) / float64(m.Spans)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%.1f\t%s\n", m.ID, m.Window,
			stamp(m.StartMin), stamp(m.EndMax), m.Spans, m.Traces, m.Duplicates, len(m.Inputs),
			humanize.IBytes(uint64(m.Sizes[tracestore.BlockData])), humanize.IBytes(uint64(m.Sizes[tracestore.BlockIndex]+m.Sizes[tracestore.BlockBloom])),
			perSpan, status)
	}
	spans := 0
	for _, m := range used {
		row(m, "used")
		spans += m.Spans
	}
	for _, m := range rejected {
		row(m, "rejected (inputs taken by an older block)")
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var rawBytes int64
	windows := map[string]int{}
	for _, f := range raw {
		rawBytes += f.Size
		windows[f.Window()]++
	}
	fmt.Fprintf(w, "\n%d blocks (%d spans); %d uncompacted ingest files (%s) in %d windows\n",
		len(used), spans, len(raw), humanize.IBytes(uint64(rawBytes)), len(windows))
	return nil
}

func stamp(ns int64) string { return time.Unix(0, ns).UTC().Format("2006-01-02T15:04:05Z") }

func inspectBlock(ctx context.Context, store *tracestore.Store, tenantID, id string, w io.Writer) error {
	used, _, rejected, err := listing(ctx, store, tenantID)
	if err != nil {
		return err
	}
	var m *tracestore.BlockMeta
	for _, b := range append(used, rejected...) {
		if strings.EqualFold(b.ID.String(), id) {
			m = b
		}
	}
	if m == nil {
		return fmt.Errorf("tenant %s has no block %s (tracelake inspect blocks lists them)", tenantID, id)
	}
	meta, err := tracestore.EncodeBlockMeta(m)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s\n\n", meta)
	f, err := store.OpenBlock(ctx, m)
	if err != nil {
		return err
	}
	defer f.Close()
	vf, ok := f.File.(*vparquet1.File)
	if !ok {
		return fmt.Errorf("block data is not vparquet1")
	}
	pf := vf.Parquet()
	fmt.Fprintf(w, "data.parquet: %s, %d rows in %d row groups\n%s\n\n", humanize.IBytes(uint64(pf.Size())), pf.NumRows(), len(pf.RowGroups()), pf.Schema())
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROW GROUP\tROWS\tCOMPRESSED\tUNCOMPRESSED\tFIRST TRACE\tLAST TRACE")
	for i, rg := range pf.Metadata().RowGroups {
		var compressed int64
		for _, c := range rg.Columns {
			compressed += c.MetaData.TotalCompressedSize
		}
		first, last := "", ""
		if st := pf.Metadata().RowGroups[i].Columns[0].MetaData.Statistics; len(st.MinValue) == 16 {
			first, last = hex.EncodeToString(st.MinValue), hex.EncodeToString(st.MaxValue)
		}
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%s\t%s\n", i, rg.NumRows, humanize.IBytes(uint64(compressed)), humanize.IBytes(uint64(rg.TotalByteSize)), first, last)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := columnSizes(w, vf); err != nil {
		return err
	}
	data, err := store.ReadObject(ctx, m.ObjectKey(tracestore.BlockIndex))
	if err != nil {
		return err
	}
	x, err := index.ReadIndex(data)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nindex.arrow: %s, %d traces; largest:\n", humanize.IBytes(uint64(len(data))), x.Len())
	largest := make([]index.TraceSummary, 0, x.Len())
	for i := range x.Len() {
		largest = append(largest, x.Trace(i))
	}
	slices.SortFunc(largest, func(a, b index.TraceSummary) int { return b.Spans - a.Spans })
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TRACE\tROOT\tSTART\tDURATION\tSPANS\tERRORS\tSERVICES")
	for _, s := range largest[:min(10, len(largest))] {
		services := map[string]bool{}
		for _, g := range s.Groups {
			services[g.Service] = true
		}
		fmt.Fprintf(tw, "%s\t%s: %s\t%s\t%s\t%d\t%d\t%d\n", s.TraceID, s.RootService, s.RootName, stamp(s.Start),
			time.Duration(s.End-s.Start), s.Spans, s.Errors, len(services))
	}
	return tw.Flush()
}

func inspectTrace(ctx context.Context, store *tracestore.Store, tenantID, id string, w io.Writer) error {
	var tid pcommon.TraceID
	b, err := hex.DecodeString(strings.TrimSpace(id))
	if err != nil || len(b) > 16 {
		return fmt.Errorf("trace ID %q is not up to 32 hex digits", id)
	}
	copy(tid[16-len(b):], b)
	e, err := engine.New(store, engine.DefaultConfig(), slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	td, err := e.Trace(ctx, tenantID, tid, query.TimeRange{})
	if err != nil {
		return err
	}
	out, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", out)
	return err
}

// columnSizes prints each column's compressed size over all row groups,
// largest first, and its share of a span: where a block's bytes go.
func columnSizes(w io.Writer, vf *vparquet1.File) error {
	pf := vf.Parquet()
	type size struct {
		path  string
		bytes int64
	}
	var sizes []size
	at := map[string]int{}
	for _, rg := range pf.Metadata().RowGroups {
		for ci, c := range rg.Columns {
			// The schema's path: some writers leave the footer's
			// path_in_schema empty.
			path := vf.ColumnPath(ci)
			i, ok := at[path]
			if !ok {
				i = len(sizes)
				at[path] = i
				sizes = append(sizes, size{path: path})
			}
			sizes[i].bytes += c.MetaData.TotalCompressedSize
		}
	}
	slices.SortStableFunc(sizes, func(a, b size) int { return cmp.Compare(b.bytes, a.bytes) })
	rows := max(pf.NumRows(), 1)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nCOLUMN\tCOMPRESSED\tBYTES PER SPAN")
	for _, s := range sizes {
		fmt.Fprintf(tw, "%s\t%s\t%.2f\n", s.path, humanize.IBytes(uint64(s.bytes)), float64(s.bytes)/float64(rows))
	}
	return tw.Flush()
}
