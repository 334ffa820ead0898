package objstore

import (
	"context"
	"fmt"
	"io"
	"iter"
	"strings"
)

// Prefixed returns a Bucket that keeps every key under prefix in b: key k is
// stored as prefix+"/"+k, and List yields keys with the prefix removed. It
// lets several deployments or test runs share one store without seeing each
// other's objects. A trailing "/" on prefix is optional; an empty prefix
// returns b. If prefix is not a valid key every operation fails with an error
// wrapping ErrInvalidKey.
//
// The result implements ReaderAtOpener when b does.
func Prefixed(b Bucket, prefix string) Bucket {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return b
	}
	p := &prefixed{b: b, prefix: prefix + "/"}
	if err := ValidateKey(prefix); err != nil {
		p.err = fmt.Errorf("key prefix: %w", err)
	}
	if o, ok := b.(ReaderAtOpener); ok {
		return &prefixedReaderAt{prefixed: p, o: o}
	}
	return p
}

type prefixed struct {
	b      Bucket
	prefix string // ends with "/"
	err    error  // why prefix is unusable, if it is
}

// key validates the caller's key on its own (so errors name the key the
// caller knows) and returns the key the inner bucket stores.
func (p *prefixed) key(key string) (string, error) {
	if p.err != nil {
		return "", p.err
	}
	if err := ValidateKey(key); err != nil {
		return "", err
	}
	return p.prefix + key, nil
}

func (p *prefixed) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	k, err := p.key(key)
	if err != nil {
		return nil, err
	}
	return p.b.Get(ctx, k)
}

func (p *prefixed) GetRange(ctx context.Context, key string, off, length int64) (io.ReadCloser, error) {
	k, err := p.key(key)
	if err != nil {
		return nil, err
	}
	return p.b.GetRange(ctx, k, off, length)
}

func (p *prefixed) Attributes(ctx context.Context, key string) (Attrs, error) {
	k, err := p.key(key)
	if err != nil {
		return Attrs{}, err
	}
	a, err := p.b.Attributes(ctx, k)
	a.Key = key
	return a, err
}

func (p *prefixed) List(ctx context.Context, prefix string, opts ListOptions) iter.Seq2[Attrs, error] {
	return func(yield func(Attrs, error) bool) {
		if p.err != nil {
			yield(Attrs{}, p.err)
			return
		}
		inner := ListOptions{}
		if opts.StartAfter != "" {
			inner.StartAfter = p.prefix + opts.StartAfter
		}
		for a, err := range p.b.List(ctx, p.prefix+prefix, inner) {
			if err != nil {
				yield(Attrs{}, err)
				return
			}
			k, ok := strings.CutPrefix(a.Key, p.prefix)
			if !ok {
				// A backend bug; stop rather than hand out a key that
				// would address the wrong object.
				yield(Attrs{}, fmt.Errorf("list %s: got key %q outside the prefix", p.Name(), a.Key))
				return
			}
			a.Key = k
			if !yield(a, nil) {
				return
			}
		}
	}
}

func (p *prefixed) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	k, err := p.key(key)
	if err != nil {
		return err
	}
	return p.b.Put(ctx, k, r, size)
}

func (p *prefixed) PutIfAbsent(ctx context.Context, key string, r io.Reader, size int64) error {
	k, err := p.key(key)
	if err != nil {
		return err
	}
	return p.b.PutIfAbsent(ctx, k, r, size)
}

func (p *prefixed) Delete(ctx context.Context, key string) error {
	k, err := p.key(key)
	if err != nil {
		return err
	}
	return p.b.Delete(ctx, k)
}

func (p *prefixed) Name() string { return p.b.Name() + "/" + strings.TrimSuffix(p.prefix, "/") }

func (p *prefixed) Close() error { return p.b.Close() }

type prefixedReaderAt struct {
	*prefixed
	o ReaderAtOpener
}

func (p *prefixedReaderAt) OpenReaderAt(ctx context.Context, key string) (ReaderAtCloser, int64, error) {
	k, err := p.key(key)
	if err != nil {
		return nil, 0, err
	}
	return p.o.OpenReaderAt(ctx, k)
}
