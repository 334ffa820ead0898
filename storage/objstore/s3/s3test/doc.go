// Package s3test runs a real MinIO server for tests, so the s3 backend (and
// anything built on it) is tested against a real S3 implementation rather
// than a fake of one.
//
// One server serves the whole test process; each test gets its own bucket.
// The server finds its binary in $TRACELAKE_MINIO_BIN, <module root>/.tools/bin
// (where `make tools` installs it) or $PATH; without it tests are skipped,
// or fail when TRACELAKE_REQUIRE_MINIO=1 (as in CI). It must never reach
// outside the loopback interface or a temporary directory.
package s3test
