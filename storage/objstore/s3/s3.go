package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/tracelake/tracelake/storage/objstore"
)

// Addressing says how requests name the bucket.
type Addressing int

const (
	// AddressingAuto uses virtual-hosted style where the endpoint is known
	// to support it (AWS, some clouds) and path style elsewhere (MinIO).
	AddressingAuto Addressing = iota
	// AddressingPath names the bucket in the path: http://host/bucket/key.
	AddressingPath
	// AddressingVirtual names the bucket in the host: http://bucket.host/key.
	AddressingVirtual
)

// Config says which bucket to use and how to reach it.
type Config struct {
	// Bucket is the bucket's name. Required.
	Bucket string
	// Endpoint is the host[:port] of the S3 API, without a scheme. Empty
	// means AWS: s3.<Region>.amazonaws.com, or s3.amazonaws.com without a
	// region.
	Endpoint string
	// Region is the bucket's region. Empty lets the client ask the store,
	// which costs a request on first use.
	Region string
	// Insecure talks plain HTTP instead of HTTPS.
	Insecure bool
	// Addressing is how requests name the bucket.
	Addressing Addressing
	// Credentials sign requests; nil sends anonymous requests.
	Credentials *credentials.Credentials
	// PartSize is the size of the parts of multipart uploads, which are
	// used for objects larger than it or of unknown size; each upload
	// buffers up to one part in memory when its reader cannot seek. 0 means
	// minio-go's default (16 MiB); otherwise at least 5 MiB, S3's minimum.
	PartSize uint64
	// Transport, if set, replaces the HTTP transport tuned for many
	// concurrent requests to one host.
	Transport http.RoundTripper
}

// minPartSize is S3's smallest part of a multipart upload but the last.
const minPartSize = 5 << 20

// Validate reports whether c can be used.
func (c Config) Validate() error {
	if c.Bucket == "" {
		return errors.New("s3 config: no bucket")
	}
	if c.PartSize != 0 && c.PartSize < minPartSize {
		return fmt.Errorf("s3 config: part size %d is below S3's minimum of %d bytes (5 MiB)", c.PartSize, minPartSize)
	}
	if c.Addressing < AddressingAuto || c.Addressing > AddressingVirtual {
		return fmt.Errorf("s3 config: unknown addressing %d", c.Addressing)
	}
	return nil
}

func (c Config) endpoint() string {
	switch {
	case c.Endpoint != "":
		return c.Endpoint
	case c.Region != "":
		return "s3." + c.Region + ".amazonaws.com"
	default:
		return "s3.amazonaws.com"
	}
}

// Bucket is an S3 bucket. It is safe for concurrent use.
type Bucket struct {
	client   *minio.Client
	bucket   string
	endpoint string
	partSize uint64
	// transport is ours to close, when we made it.
	transport *http.Transport
}

var _ objstore.Bucket = (*Bucket)(nil)

// New connects to the bucket cfg names and checks that it exists and that
// the credentials may list it, so a misconfiguration is reported at start
// rather than at the first write.
func New(ctx context.Context, cfg Config) (*Bucket, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	b := &Bucket{bucket: cfg.Bucket, endpoint: cfg.endpoint(), partSize: cfg.PartSize}

	transport := cfg.Transport
	if transport == nil {
		t, err := minio.DefaultTransport(!cfg.Insecure)
		if err != nil {
			return nil, fmt.Errorf("s3 bucket %s: %w", cfg.Bucket, err)
		}
		// Ingest and query send many concurrent requests to one host;
		// the default of 16 idle connections per host would close and
		// reopen connections (and TLS sessions) under load.
		t.MaxIdleConns = 256
		t.MaxIdleConnsPerHost = 100
		b.transport = t
		transport = t
	}
	creds := cfg.Credentials
	if creds == nil {
		creds = credentials.NewStatic("", "", "", credentials.SignatureAnonymous)
	}
	lookup := map[Addressing]minio.BucketLookupType{
		AddressingAuto:    minio.BucketLookupAuto,
		AddressingPath:    minio.BucketLookupPath,
		AddressingVirtual: minio.BucketLookupDNS,
	}[cfg.Addressing]
	client, err := minio.New(b.endpoint, &minio.Options{
		Creds:        creds,
		Secure:       !cfg.Insecure,
		Transport:    transport,
		Region:       cfg.Region,
		BucketLookup: lookup,
	})
	if err != nil {
		return nil, fmt.Errorf("s3 bucket %s at %s: %w", cfg.Bucket, b.endpoint, err)
	}
	b.client = client

	if err := b.check(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// check makes sure the bucket exists and can be listed, explaining the
// usual misconfigurations.
func (b *Bucket) check(ctx context.Context) error {
	exists, err := b.client.BucketExists(ctx, b.bucket)
	if err == nil && exists {
		return nil
	}
	where := fmt.Sprintf("s3 bucket %q at %s", b.bucket, b.endpoint)
	if err == nil {
		return fmt.Errorf("%s does not exist", where)
	}
	resp := errorResponse(err)
	var netErr net.Error
	switch {
	case resp.StatusCode == http.StatusForbidden || isAuthCode(resp.Code):
		return fmt.Errorf("%s: access denied (%s): check the credentials, and that they may list the bucket (s3:ListBucket): %w", where, resp.Code, err)
	case resp.StatusCode == http.StatusMovedPermanently || resp.Code == "PermanentRedirect" || resp.Code == "AuthorizationHeaderMalformed":
		return fmt.Errorf("%s: the bucket is in another region (%s): %w", where, resp.Code, err)
	case errors.As(err, &netErr):
		return fmt.Errorf("%s: cannot reach the endpoint: %w", where, err)
	default:
		return fmt.Errorf("%s: %w", where, err)
	}
}

func isAuthCode(code string) bool {
	switch code {
	case "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken", "InvalidSecurity", "AllAccessDisabled":
		return true
	}
	return false
}

// Name returns "s3://" and the bucket name.
func (b *Bucket) Name() string { return "s3://" + b.bucket }

// Close releases idle connections.
func (b *Bucket) Close() error {
	if b.transport != nil {
		b.transport.CloseIdleConnections()
	}
	return nil
}

func errorResponse(err error) minio.ErrorResponse {
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		return resp
	}
	return minio.ErrorResponse{}
}

// S3 error codes given meaning here.
const (
	codeNoSuchKey    = "NoSuchKey"
	codeInvalidRange = "InvalidRange"
	// codePreconditionFailed answers a conditional PUT whose key exists.
	codePreconditionFailed = "PreconditionFailed"
	// codeConditionalConflict is AWS's answer to a conditional PUT racing
	// another write of the same key; the race is undecided, so the PUT is
	// retried.
	codeConditionalConflict = "ConditionalRequestConflict"
	codeAccessDenied        = "AccessDenied"
	// MinIO keeps objects in directories and may refuse to store "a/b"
	// and "a/b/c" together with these (a single-drive MinIO accepts both
	// and then lists only "a/b").
	codeParentIsObject    = "XMinioParentIsObject"
	codeObjectIsDirectory = "XMinioObjectExistsAsDirectory"
)

// wrap adds op and key to err and, where the store's error has a meaning
// in the contract, the sentinel error for it.
func wrap(op, key string, err error) error {
	resp := errorResponse(err)
	switch {
	case resp.Code == codeNoSuchKey:
		return fmt.Errorf("%s %s: %w: %w", op, key, objstore.ErrNotFound, err)
	case resp.Code == codeParentIsObject || resp.Code == codeObjectIsDirectory:
		return fmt.Errorf("%s %s: %w: %w", op, key, objstore.ErrKeyConflict, err)
	}
	return fmt.Errorf("%s %s: %w", op, key, err)
}

// Get returns the object's body as the store sends it.
func (b *Bucket) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := objstore.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	body, _, _, err := minio.Core{Client: b.client}.GetObject(ctx, b.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, wrap("get", key, err)
	}
	return body, nil
}

// GetRange asks the store for the range. S3 refuses ranges that start at or
// past the end, which the contract answers with no bytes.
func (b *Bucket) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	if err := objstore.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("get range: %w", err)
	}
	if off < 0 {
		return nil, fmt.Errorf("get range %s: negative offset %d", key, off)
	}
	if length == 0 {
		// No range means "no bytes" in HTTP; the object must still exist.
		if _, err := b.Attributes(ctx, key); err != nil {
			return nil, err
		}
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	var opts minio.GetObjectOptions
	switch {
	case length > 0:
		err := opts.SetRange(off, off+length-1)
		if err != nil {
			return nil, fmt.Errorf("get range %s: %w", key, err)
		}
	case off > 0:
		if err := opts.SetRange(off, 0); err != nil {
			return nil, fmt.Errorf("get range %s: %w", key, err)
		}
	}
	body, _, _, err := minio.Core{Client: b.client}.GetObject(ctx, b.bucket, key, opts)
	if errorResponse(err).Code == codeInvalidRange {
		// The object exists (or this would be NoSuchKey) and is no longer
		// than off.
		return io.NopCloser(bytes.NewReader(nil)), nil
	}
	if err != nil {
		return nil, wrap("get range", key, err)
	}
	return body, nil
}

// Attributes asks the store for the object's metadata (a HEAD request).
func (b *Bucket) Attributes(ctx context.Context, key string) (objstore.Attrs, error) {
	if err := objstore.ValidateKey(key); err != nil {
		return objstore.Attrs{}, fmt.Errorf("attributes: %w", err)
	}
	info, err := b.client.StatObject(ctx, b.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return objstore.Attrs{}, wrap("attributes", key, err)
	}
	return attrs(info), nil
}

func attrs(info minio.ObjectInfo) objstore.Attrs {
	return objstore.Attrs{Key: info.Key, Size: info.Size, ETag: info.ETag, LastModified: info.LastModified}
}

// List pages through ListObjectsV2, which returns keys in byte order.
func (b *Bucket) List(ctx context.Context, prefix string, opts objstore.ListOptions) iter.Seq2[objstore.Attrs, error] {
	return func(yield func(objstore.Attrs, error) bool) {
		fetchOwner := false
		for info := range b.client.ListObjectsIter(ctx, b.bucket, minio.ListObjectsOptions{
			Prefix:     prefix,
			StartAfter: opts.StartAfter,
			Recursive:  true,
			FetchOwner: &fetchOwner,
		}) {
			if err := ctx.Err(); err != nil {
				yield(objstore.Attrs{}, fmt.Errorf("list %s: %w", prefix, err))
				return
			}
			if info.Err != nil {
				yield(objstore.Attrs{}, wrap("list", prefix, info.Err))
				return
			}
			if !yield(attrs(info), nil) {
				return
			}
		}
		// minio-go ends a listing silently when ctx is canceled between
		// pages; a caller must not take that for the end.
		if err := ctx.Err(); err != nil {
			yield(objstore.Attrs{}, fmt.Errorf("list %s: %w", prefix, err))
		}
	}
}

// Put uploads the object. S3 makes it visible only when complete.
//
// Failed requests are retried (by minio-go, and here for the answers in
// transient) only when r is an io.ReaderAt and io.Seeker (bytes.Reader,
// os.File), which lets the bytes be sent again; other readers get one try.
func (b *Bucket) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "put", key, r, size, false)
}

// PutIfAbsent uploads the object with If-None-Match: *, which the store
// evaluates atomically when the upload completes.
//
// A caveat no S3 client avoids: if the store stored the object but the
// response was lost, the client's retry finds the object there and this
// returns ErrExists for an object it wrote.
func (b *Bucket) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	return b.put(ctx, "put if absent", key, r, size, true)
}

// putAttempts bounds the tries of an upload the store answers with a
// transient error.
const putAttempts = 4

func (b *Bucket) put(ctx context.Context, op, key string, r io.Reader, size int64, ifAbsent bool) error {
	if err := objstore.ValidateKey(key); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	body, err := newBody(r, size)
	if err != nil {
		return fmt.Errorf("%s %s: %w", op, key, err)
	}
	opts := minio.PutObjectOptions{PartSize: b.partSize}
	if ifAbsent {
		opts.SetMatchETagExcept("*")
	}
	for attempt := 1; ; attempt++ {
		_, err := b.client.PutObject(ctx, b.bucket, key, body.reader(), size, opts)
		if err == nil {
			return nil
		}
		resp := errorResponse(err)
		if ifAbsent && (resp.Code == codePreconditionFailed || resp.StatusCode == http.StatusPreconditionFailed) {
			return fmt.Errorf("%s %s: %w", op, key, objstore.ErrExists)
		}
		if !transient(resp) || !body.rewindable() || attempt == putAttempts {
			return wrap(op, key, err)
		}
		select {
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("%s %s: %w (after %w)", op, key, ctx.Err(), err)
		}
	}
}

// transient reports whether an upload's error means "try again", beyond
// the network errors and throttling minio-go retries itself.
func transient(resp minio.ErrorResponse) bool {
	switch resp.Code {
	case codeConditionalConflict:
		return true
	case codeAccessDenied:
		// MinIO answers a PUT that races a DELETE emptying the same
		// prefix with 403 AccessDenied (minio/minio#10827, #12914). A real
		// denial only costs the retries.
		return true
	}
	return false
}

// body is the reader of an upload, in the form that lets minio-go retry it.
type body struct {
	r         io.Reader
	ra        io.ReaderAt // when r can be read again from off
	off, size int64
}

// errShortReader says a reader ended before the size the caller gave.
// Detecting it here, rather than as a request whose body is too short,
// fails the upload at once instead of after minio-go's retries.
var errShortReader = errors.New("reader ended before size bytes")

// newBody prepares r for one or more uploads of size bytes.
func newBody(r io.Reader, size int64) (body, error) {
	if size < 0 {
		// minio-go uploads it in parts it buffers, retrying each.
		return body{r: r}, nil
	}
	if ra, ok := r.(interface {
		io.ReaderAt
		io.Seeker
	}); ok {
		off, err := ra.Seek(0, io.SeekCurrent)
		if err != nil {
			return body{}, err
		}
		end, err := ra.Seek(0, io.SeekEnd)
		if err != nil {
			return body{}, err
		}
		if _, err := ra.Seek(off, io.SeekStart); err != nil {
			return body{}, err
		}
		if end-off < size {
			return body{}, fmt.Errorf("%w: %d bytes left, size %d", errShortReader, end-off, size)
		}
		return body{ra: ra, off: off, size: size}, nil
	}
	return body{r: &sizedReader{r: r, left: size}, size: size}, nil
}

func (b body) rewindable() bool { return b.ra != nil }

// reader returns a reader over the whole body, without the io.Closer that
// minio-go would call on the caller's reader. A section reader can be read
// again, so minio-go may retry a request, and starts at the reader's
// offset, where minio-go would seek to the start.
func (b body) reader() io.Reader {
	if b.ra != nil {
		return io.NewSectionReader(b.ra, b.off, b.size)
	}
	return struct{ io.Reader }{b.r}
}

// sizedReader yields the first left bytes of r, and errShortReader if r
// has fewer.
type sizedReader struct {
	r    io.Reader
	left int64
}

func (s *sizedReader) Read(p []byte) (int, error) {
	if s.left == 0 {
		return 0, io.EOF
	}
	n, err := s.r.Read(p[:min(int64(len(p)), s.left)])
	s.left -= int64(n)
	if err == io.EOF && s.left > 0 {
		err = fmt.Errorf("%w: %d bytes missing", errShortReader, s.left)
	}
	return n, err
}

// Delete removes the object; S3 does not report missing ones.
func (b *Bucket) Delete(ctx context.Context, key string) error {
	if err := objstore.ValidateKey(key); err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	err := b.client.RemoveObject(ctx, b.bucket, key, minio.RemoveObjectOptions{})
	if err != nil && errorResponse(err).Code != codeNoSuchKey {
		return wrap("delete", key, err)
	}
	return nil
}
