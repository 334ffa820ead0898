// Package aggregate summarises a tenant's spans into what the dependency
// graph and the RED (rate, errors, duration) metrics need, so that those
// queries read a few kilobytes per block instead of every span:
//
//   - dependency links: calls from one service to another, with how many
//     failed, counted from parent/child relations (and Zipkin's shared
//     client/server spans) within each trace;
//   - RED metrics: per (service, span name, span kind), calls, errors and
//     a histogram of durations from which any quantile is read within 1%.
//
// Both are kept by minute of span start (BucketWidth), so a query over any
// range of whole minutes is exact. Aggregates merge exactly (Merge), in
// any order, and encode to a compact, versioned binary form (Encode,
// Decode; FORMAT.md) that compaction stores beside each block.
//
// It must never do I/O, read or write storage, or know about the query
// APIs: callers feed it traces and bytes and ask it for links and series.
// It must never change the encoded format in place: a change is a new
// version that Decode reads alongside the old ones. And it must never
// panic on bytes it did not write: Decode refuses them with ErrFormat.
package aggregate
