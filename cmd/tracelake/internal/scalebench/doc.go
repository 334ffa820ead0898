// Package scalebench is tracelake's scale benchmark ("make bench-scale"):
// it measures the figures the storage and query design is held to on a
// day of realistic data, end to end, on a real object store.
//
// One run:
//
//  1. starts a MinIO server (the binary "make tools" builds) on a free
//     loopback port with a temporary data directory, or uses the one it
//     is given (Config.S3, for tests);
//  2. generates Config.Spans spans in Config.Traces traces of a simulated
//     shop of ~30 services (gen.go, world.go): Zipf-skewed service and
//     operation popularity, client/server pairs across services (so there
//     are dependencies), databases, Kafka producers and consumers, ~1.5%
//     errors, log-normal durations, high-cardinality user.id, and a few
//     traces of 10,000 spans; spread over 24 hours, written hour by hour
//     with tracestore.Store.Write as ingest would (files of ~25,000 spans,
//     keyed in the hour of their spans), by one writer per core;
//  3. compacts every hour into a block with compact.Compactor.RunOnce and
//     measures spans per CPU second and bytes per span;
//  4. starts "tracelake query" as its own process on the bucket and times
//     lookups by trace ID (cold and warm) and searches of several shapes
//     over the whole day through the Jaeger API, reading the process's CPU
//     time and peak RSS from /proc and its CPU profiles from /debug/pprof;
//  5. reports the figures beside their aims as a Markdown table, with the
//     top entries of every profile.
//
// It measures; it is not a correctness test. Its checks (every span
// compacted, lookups answering the right number of spans, every request
// answering 200) are there so that a broken build cannot post a good
// figure. It must never be imported by anything but its command and
// tracelake's own tooling.
package scalebench
