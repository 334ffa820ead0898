// Package pipeline is what every ingest receiver feeds: it validates
// spans, runs the sampling stages, and group-commits them to storage,
// acknowledging a request only once the object holding its spans is
// durably written.
//
// It must never acknowledge spans it has not stored, and never drop spans
// silently: every span is accepted, rejected with a reason, or sampled out,
// and counted as such. It knows no wire protocol; receivers map its errors
// to their protocol's codes.
package pipeline
