// Package receiver holds what every protocol receiver shares: reading a
// request body within size limits (before and after decompression),
// finding the tenant of a request, and mapping the pipeline's outcomes to
// HTTP statuses and gRPC codes, so every protocol answers overload,
// storage failure and oversized input the same way.
//
// It must never decode a protocol's payload: that is each receiver's job.
package receiver
