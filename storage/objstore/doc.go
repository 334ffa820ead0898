// Package objstore is the contract every object store backend implements:
// moving bytes by key, nothing more.
//
// A backend must never know what it stores. Everything trace-aware (formats,
// key layout, indexes) is built once, on top of this interface, in other
// storage packages. Cross-cutting concerns (metrics, key prefixes, fault
// injection) are wrappers around a Bucket, never parameters of it.
//
// Backends live in subpackages, one per external system: fs (a local
// directory, the embedded default) and s3 (AWS S3, MinIO and other
// S3-compatible stores). client opens one from a URL. objstoretest holds the
// behavioural suite every backend passes, an in-memory fake and a fault
// injector for other packages' tests.
package objstore
