// Package client opens the object store a URL names: a local directory or
// an S3 bucket (AWS S3, MinIO, any S3-compatible store), so that commands
// and deployments configure storage with one string.
//
// Credentials never come from the URL: they come from the environment, the
// shared AWS credentials file or the cloud's identity service, as AWS tools
// find them. It must never log or return a secret in an error.
package client
