// Package s3 stores objects in an S3 bucket: AWS S3, MinIO or any other
// S3-compatible store, through minio-go.
//
// Puts are single PUTs or multipart uploads, both of which S3 makes visible
// atomically and only once stored durably. PutIfAbsent is a conditional PUT
// (If-None-Match: *), which AWS S3 and MinIO evaluate atomically.
//
// Like every backend, it must never know what it stores: it moves bytes by
// key and nothing more. It never puts credentials in names, errors or logs.
package s3
