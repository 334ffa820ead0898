// Package index is a block's in-memory lookup structures: the trace index
// (one row per trace, written as an Arrow IPC file) and the trace-ID bloom
// filter. Compaction builds both with a Builder while it writes a block's
// data.parquet; the query service reads them once per block, keeps them in
// memory, and uses them to find a trace with one ranged read of exactly its
// rows and to answer most searches without reading Parquet at all.
//
// FORMAT.md documents both files byte by byte.
//
// An Index or a Bloom is immutable after it is read and safe for concurrent
// use. ReadIndex and ReadBloom take bytes from object storage: they must
// never panic or run out of memory on any input, and they keep no reference
// to the slice they are given.
//
// This package must never read Parquet or touch object storage: it turns
// bytes into answers and back, and the caller moves the bytes.
//
// # Why arrow-go v18
//
// The design names github.com/apache/arrow/go/v17; we use
// github.com/apache/arrow-go/v18, its maintained successor. The Go
// implementation left the apache/arrow monorepo for its own repository at
// v18, and fixes (the IPC reader's hardening among them) land only there;
// the IPC file format itself is the same, so nothing about the bytes
// depends on this choice.
package index
