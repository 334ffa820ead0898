package compact

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	blocks     *prometheus.CounterVec
	deleted    *prometheus.CounterVec
	spans      prometheus.Counter
	duplicates prometheus.Counter
	inBytes    prometheus.Counter
	outBytes   prometheus.Counter
	duration   prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		blocks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_compactor_blocks_total", Help: "Blocks the compactor wrote, by result (ok, failed).",
		}, []string{"result"}),
		deleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tracelake_compactor_deleted_total", Help: "Objects the compactor deleted: compacted ingest files (input) and rejected or abandoned blocks (block).",
		}, []string{"kind"}),
		spans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracelake_compactor_spans_total", Help: "Spans written into blocks.",
		}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracelake_compactor_duplicate_spans_total", Help: "Exact duplicate spans (client retries) removed by compaction.",
		}),
		inBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracelake_compactor_input_bytes_total", Help: "Bytes of ingest files compacted.",
		}),
		outBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "tracelake_compactor_block_bytes_total", Help: "Bytes of block data files written.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "tracelake_compactor_block_duration_seconds", Help: "Time to write and publish one block.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
		}),
	}
	if reg != nil {
		reg.MustRegister(m.blocks, m.deleted, m.spans, m.duplicates, m.inBytes, m.outBytes, m.duration)
	}
	return m
}
