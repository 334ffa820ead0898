// Package tracestore is the trace-aware layer on top of an object store
// bucket: where span files live (the key layout), how they are written
// durably, how they are listed by tenant and time, and how a file is opened
// whatever its format version.
//
// It must never hold state that another instance could not see: the
// bucket is the only shared state, so any ingest or query process can
// serve any request. It knows nothing of protocols or query APIs.
package tracestore
