// Package engine implements query.Querier over span files in object
// storage: it plans which files a question touches (by tenant and time,
// from object keys), searches them in parallel with bounded concurrency
// and memory, keeps only the best matches, and assembles whole traces.
//
// It must never load a tenant's data wholesale: every file is streamed
// through a bounded number of workers, and only the traces it will answer
// with are materialised.
package engine
