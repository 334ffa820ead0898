// Package objstoretest helps test object stores and the code built on them.
//
// Run is the one behavioural suite every objstore.Bucket must pass; each
// backend's tests call it, and a new backend is not done until it passes.
// NewMemory is an in-memory bucket for other packages' unit tests, faithful
// enough to pass Run. Faulty wraps a bucket to inject failures.
//
// It is imported only by tests, and must never be needed by production
// code: nothing here is tuned for speed or durability.
package objstoretest
