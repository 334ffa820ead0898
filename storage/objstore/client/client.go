package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/objstore/fs"
	"github.com/tracelake/tracelake/storage/objstore/s3"
)

// acceptedForms ends every error about a URL, so the fix is in the message.
const acceptedForms = `accepted forms: a directory path ("./data", "/var/lib/tracelake"), ` +
	`"file:///absolute/dir", "file://./relative/dir", ` +
	`"s3://bucket[/prefix][?endpoint=host:port&region=name&insecure=true&path-style=true]"`

// s3Params are the query parameters of s3 URLs.
var s3Params = []string{"endpoint", "region", "insecure", "path-style"}

// Open opens the object store rawURL names:
//
//   - a directory: a plain path ("./data", "/var/lib/tracelake"),
//     "file:///absolute/dir" or "file://./relative/dir";
//   - an S3 bucket, optionally with a key prefix:
//     "s3://bucket[/prefix][?endpoint=host:port&region=name&insecure=true&path-style=true]".
//
// For S3, getenv supplies the defaults that AWS tools use:
//
//   - the endpoint, when the URL has none: AWS_ENDPOINT_URL_S3 or
//     AWS_ENDPOINT_URL (an http:// endpoint means insecure=true), else
//     AWS's own for the region;
//   - the region, when the URL has none: AWS_REGION or AWS_DEFAULT_REGION,
//     else us-east-1;
//   - the credentials, the first found of: AWS_ACCESS_KEY_ID,
//     AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN; MINIO_ROOT_USER and
//     MINIO_ROOT_PASSWORD, or MINIO_ACCESS_KEY and MINIO_SECRET_KEY; the
//     shared AWS credentials file (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE);
//     the cloud's identity: EKS web identity (AWS_WEB_IDENTITY_TOKEN_FILE,
//     AWS_ROLE_ARN), ECS or EKS pod identity, or the EC2 instance role.
//
// A nil getenv is an empty environment. Credentials in the URL are refused.
func Open(ctx context.Context, rawURL string, getenv func(string) string) (objstore.Bucket, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	t, err := parse(rawURL, getenv)
	if err != nil {
		return nil, err
	}
	if t.dir != "" {
		b, err := fs.New(t.dir)
		if err != nil {
			return nil, fmt.Errorf("open object store %s: %w", rawURL, err)
		}
		return b, nil
	}
	cfg := t.s3
	cfg.Credentials = credentialChain(getenv, cfg.Region)
	b, err := s3.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open object store %s: %w", redact(rawURL), err)
	}
	return objstore.Prefixed(b, t.prefix), nil
}

// target is what a URL names, before any credentials or network.
type target struct {
	dir    string    // a directory, or
	s3     s3.Config // an S3 bucket (without credentials),
	prefix string    // with a key prefix
}

func parse(rawURL string, getenv func(string) string) (target, error) {
	fail := func(format string, args ...any) (target, error) {
		return target{}, fmt.Errorf("object store %q: %s; %s", redact(rawURL), fmt.Sprintf(format, args...), acceptedForms)
	}
	if rawURL == "" {
		return fail("empty")
	}
	if !hasScheme(rawURL) {
		return target{dir: rawURL}, nil
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // without the URL, which may hold a secret
		}
		return fail("cannot parse: %v", err)
	}
	if u.User != nil {
		return fail("credentials do not belong in the URL; set them in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the AWS credentials file")
	}
	if u.Opaque != "" {
		return fail(`%s URLs start with %q`, u.Scheme, u.Scheme+"://")
	}
	if u.Fragment != "" {
		return fail("unexpected fragment %q", "#"+u.Fragment)
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		return parseFile(u, fail)
	case "s3":
		return parseS3(u, getenv, fail)
	default:
		return fail("unknown scheme %q", u.Scheme)
	}
}

// hasScheme reports whether s starts like a URL ("s3:", "file:"), as
// opposed to a path. One letter is a Windows drive ("C:\data").
func hasScheme(s string) bool {
	for i := range len(s) {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case i > 0 && (c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.'):
		case c == ':':
			return i > 1
		default:
			return false
		}
	}
	return false
}

func parseFile(u *url.URL, fail func(string, ...any) (target, error)) (target, error) {
	if u.RawQuery != "" {
		return fail("file URLs take no parameters (%q)", "?"+u.RawQuery)
	}
	var dir string
	switch u.Host {
	case "", "localhost":
		dir = u.Path
	case ".", "..":
		// file://./data is not standard, but is how people write a
		// relative path as a URL.
		dir = u.Host + u.Path
	default:
		return fail("file URL host %q: use file:///absolute/dir or file://./relative/dir", u.Host)
	}
	if dir == "" {
		return fail("file URL without a directory")
	}
	return target{dir: dir}, nil
}

func parseS3(u *url.URL, getenv func(string) string, fail func(string, ...any) (target, error)) (target, error) {
	if u.Host == "" {
		return fail(`no bucket: write s3://bucket`)
	}
	if u.Port() != "" {
		return fail("bucket %q has a port; give the server as ?endpoint=host:port", u.Host)
	}
	cfg := s3.Config{Bucket: u.Host}
	prefix := strings.Trim(u.Path, "/")
	if prefix != "" {
		if err := objstore.ValidateKey(prefix); err != nil {
			return fail("key prefix %q: %v", prefix, err)
		}
	}

	query, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return fail("query %q: %v", u.RawQuery, err)
	}
	for name, values := range query {
		switch {
		case !slices.Contains(s3Params, name):
			return fail("unknown parameter %q (s3 URLs take %s)", name, strings.Join(s3Params, ", "))
		case len(values) != 1:
			return fail("parameter %q given %d times", name, len(values))
		}
	}
	boolParam := func(name string) (*bool, error) {
		if !query.Has(name) {
			return nil, nil
		}
		v, err := strconv.ParseBool(query.Get(name))
		if err != nil {
			return nil, fmt.Errorf("parameter %s=%q is not true or false", name, query.Get(name))
		}
		return &v, nil
	}

	// The endpoint: the URL's, else the environment's, else AWS's.
	var insecureFromScheme *bool
	endpoint := query.Get("endpoint")
	source := "parameter endpoint"
	if query.Has("endpoint") && endpoint == "" {
		return fail("parameter endpoint is empty")
	}
	if !query.Has("endpoint") {
		for _, env := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"} {
			if endpoint = getenv(env); endpoint != "" {
				source = env
				break
			}
		}
	}
	if endpoint != "" {
		host, insecure, err := parseEndpoint(endpoint)
		if err != nil {
			return fail("%s=%q: %v", source, endpoint, err)
		}
		cfg.Endpoint, insecureFromScheme = host, insecure
	}

	insecure, err := boolParam("insecure")
	if err != nil {
		return fail("%v", err)
	}
	switch {
	case insecure != nil && insecureFromScheme != nil && *insecure != *insecureFromScheme:
		return fail("parameter insecure=%t contradicts the scheme of %s=%q", *insecure, source, endpoint)
	case insecure != nil:
		cfg.Insecure = *insecure
	case insecureFromScheme != nil:
		cfg.Insecure = *insecureFromScheme
	}

	pathStyle, err := boolParam("path-style")
	if err != nil {
		return fail("%v", err)
	}
	switch {
	case pathStyle == nil:
		cfg.Addressing = s3.AddressingAuto
	case *pathStyle:
		cfg.Addressing = s3.AddressingPath
	default:
		cfg.Addressing = s3.AddressingVirtual
	}

	cfg.Region = query.Get("region")
	if query.Has("region") && cfg.Region == "" {
		return fail("parameter region is empty")
	}
	for _, env := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
		if cfg.Region == "" {
			cfg.Region = getenv(env)
		}
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}

	if err := cfg.Validate(); err != nil {
		return fail("%v", err)
	}
	return target{s3: cfg, prefix: prefix}, nil
}

// parseEndpoint accepts host[:port] or a URL with scheme http or https,
// which also says whether to use TLS.
func parseEndpoint(endpoint string) (host string, insecure *bool, err error) {
	if !strings.Contains(endpoint, "://") {
		if strings.ContainsAny(endpoint, "/?#@") {
			return "", nil, errors.New("want host[:port] or http(s)://host[:port]")
		}
		return endpoint, nil, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return "", nil, errors.New("want host[:port] or http(s)://host[:port]")
	}
	if u.User != nil {
		return "", nil, errors.New("credentials do not belong in the endpoint")
	}
	if u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", nil, errors.New("want host[:port] or http(s)://host[:port], without a path")
	}
	var tls bool
	switch strings.ToLower(u.Scheme) {
	case "http":
		tls = false
	case "https":
		tls = true
	default:
		return "", nil, fmt.Errorf("scheme %q is not http or https", u.Scheme)
	}
	insecure = new(!tls)
	return u.Host, insecure, nil
}

// redact hides a password in a URL that has one, for error messages.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil || u.User == nil {
		return rawURL
	}
	return u.Redacted()
}

// credentialChain finds credentials where AWS tools look for them, reading
// the environment through getenv wherever minio-go lets it (its IAM and
// credentials-file providers also consult the process environment).
func credentialChain(getenv func(string) string, region string) *credentials.Credentials {
	first := func(names ...string) string {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	// Static providers with empty keys are passed over by the chain.
	awsEnv := credentials.Value{
		AccessKeyID:     first("AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY"),
		SecretAccessKey: first("AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY"),
		SessionToken:    getenv("AWS_SESSION_TOKEN"),
		SignerType:      credentials.SignatureV4,
	}
	minioEnv := credentials.Value{
		AccessKeyID:     getenv("MINIO_ROOT_USER"),
		SecretAccessKey: getenv("MINIO_ROOT_PASSWORD"),
		SignerType:      credentials.SignatureV4,
	}
	if minioEnv.AccessKeyID == "" || minioEnv.SecretAccessKey == "" {
		minioEnv.AccessKeyID = getenv("MINIO_ACCESS_KEY")
		minioEnv.SecretAccessKey = getenv("MINIO_SECRET_KEY")
	}

	iam := &credentials.IAM{
		// Off EC2 the instance metadata service does not answer; do not
		// let a missing credential hang startup for long.
		Client: &http.Client{Timeout: 10 * time.Second},
		Region: region,
	}
	iam.Container.AuthorizationToken = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN")
	iam.Container.AuthorizationTokenFile = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
	iam.Container.CredentialsRelativeURI = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
	iam.Container.CredentialsFullURI = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI")
	iam.EKSIdentity.TokenFile = getenv("AWS_WEB_IDENTITY_TOKEN_FILE")
	iam.EKSIdentity.RoleARN = getenv("AWS_ROLE_ARN")
	iam.EKSIdentity.RoleSessionName = getenv("AWS_ROLE_SESSION_NAME")

	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.Static{Value: awsEnv},
		&credentials.Static{Value: minioEnv},
		&credentials.FileAWSCredentials{
			// Empty: minio-go merges ~/.aws/config and ~/.aws/credentials.
			Filename: getenv("AWS_SHARED_CREDENTIALS_FILE"),
			Profile:  getenv("AWS_PROFILE"),
		},
		iam,
	})
}
