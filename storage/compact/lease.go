package compact

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tracelake/tracelake/storage/objstore"
)

// A window's lease is a sequence of objects
//
//	<tenant>/compactor/<window>/lease-<seq, 10 digits>
//
// each created once with PutIfAbsent. The highest sequence number is the
// current lease: its owner holds the window until it expires. Taking or
// renewing a lease creates the next number, so of two compactors that
// both saw lease n expire, exactly one creates n+1 and owns the window.
// No lease is ever overwritten, so no compare-and-swap is needed.

type leaseBody struct {
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// lease is one compactor's hold on a window.
type lease struct {
	bucket  objstore.Bucket
	prefix  string // <tenant>/compactor/<window>/
	owner   string
	seq     int
	expires time.Time
}

var errLeaseHeld = errors.New("the window's lease is held by another compactor")

func leasePrefix(tenantID, window string) string {
	return tenantID + "/compactor/" + window + "/"
}

func leaseKey(prefix string, seq int) string {
	return fmt.Sprintf("%slease-%010d", prefix, seq)
}

// latestLease reads the window's current lease: its sequence number (0:
// none) and body.
func latestLease(ctx context.Context, b objstore.Bucket, prefix string) (int, leaseBody, error) {
	last := ""
	for attrs, err := range b.List(ctx, prefix, objstore.ListOptions{}) {
		if err != nil {
			return 0, leaseBody{}, fmt.Errorf("list leases: %w", err)
		}
		if strings.HasPrefix(attrs.Key, prefix+"lease-") {
			last = attrs.Key
		}
	}
	if last == "" {
		return 0, leaseBody{}, nil
	}
	seq, err := strconv.Atoi(strings.TrimPrefix(last, prefix+"lease-"))
	if err != nil {
		return 0, leaseBody{}, fmt.Errorf("lease key %s: %w", last, err)
	}
	rc, err := b.Get(ctx, last)
	if errors.Is(err, objstore.ErrNotFound) {
		// Released between the listing and the read: free.
		return seq, leaseBody{}, nil
	}
	if err != nil {
		return 0, leaseBody{}, fmt.Errorf("read lease %s: %w", last, err)
	}
	defer rc.Close()
	var body leaseBody
	if err := json.NewDecoder(rc).Decode(&body); err != nil {
		// An unreadable lease cannot be honoured; treat it as expired.
		return seq, leaseBody{}, nil
	}
	return seq, body, nil
}

// acquire takes the window's lease for ttl, or returns errLeaseHeld.
func acquire(ctx context.Context, b objstore.Bucket, tenantID, window, owner string, now time.Time, ttl time.Duration) (*lease, error) {
	prefix := leasePrefix(tenantID, window)
	seq, body, err := latestLease(ctx, b, prefix)
	if err != nil {
		return nil, err
	}
	if seq > 0 && body.Owner != owner && now.Before(body.Expires) {
		return nil, errLeaseHeld
	}
	l := &lease{bucket: b, prefix: prefix, owner: owner, seq: seq}
	if err := l.extend(ctx, now, ttl); err != nil {
		return nil, err
	}
	return l, nil
}

// extend creates the next lease object; it fails with errLeaseHeld when
// another compactor created it first.
func (l *lease) extend(ctx context.Context, now time.Time, ttl time.Duration) error {
	body, _ := json.Marshal(leaseBody{Owner: l.owner, Expires: now.Add(ttl)})
	err := l.bucket.PutIfAbsent(ctx, leaseKey(l.prefix, l.seq+1), bytes.NewReader(body), int64(len(body)))
	if errors.Is(err, objstore.ErrExists) {
		return errLeaseHeld
	}
	if err != nil {
		return fmt.Errorf("take lease: %w", err)
	}
	l.seq++
	l.expires = now.Add(ttl)
	return nil
}

// ensure makes sure the lease has at least ttl/2 left, renewing it when
// not; a lease that already expired is lost (another compactor may have
// taken the window) and ensure fails.
func (l *lease) ensure(ctx context.Context, now time.Time, ttl time.Duration) error {
	if !now.Before(l.expires) {
		return fmt.Errorf("%w: expired at %s", errLeaseHeld, l.expires.Format(time.RFC3339))
	}
	if l.expires.Sub(now) >= ttl/2 {
		return nil
	}
	return l.extend(ctx, now, ttl)
}

// release deletes the lease objects up to ours, ours last, so others see
// the window held until it is free. A compactor that takes the window
// afterwards finds nothing left to do in it.
func (l *lease) release(ctx context.Context) error {
	for seq := 1; seq <= l.seq; seq++ {
		if err := l.bucket.Delete(ctx, leaseKey(l.prefix, seq)); err != nil {
			return fmt.Errorf("release lease: %w", err)
		}
	}
	return nil
}

// observeLeases lists the tenant's lease objects by window, with the
// expiry of each window's latest.
func observeLeases(ctx context.Context, b objstore.Bucket, tenantID string) ([]Lease, error) {
	var out []Lease
	for attrs, err := range b.List(ctx, tenantID+"/compactor/", objstore.ListOptions{}) {
		if err != nil {
			return nil, fmt.Errorf("list leases: %w", err)
		}
		rest := strings.TrimPrefix(attrs.Key, tenantID+"/compactor/")
		window, _, ok := strings.Cut(rest, "/")
		if !ok {
			continue
		}
		if len(out) == 0 || out[len(out)-1].Window != window {
			out = append(out, Lease{Window: window})
		}
		out[len(out)-1].Keys = append(out[len(out)-1].Keys, attrs.Key)
	}
	for i := range out {
		_, body, err := latestLease(ctx, b, leasePrefix(tenantID, out[i].Window))
		if err != nil {
			return nil, err
		}
		out[i].Expires = body.Expires // zero when released or unreadable: expired
	}
	return out, nil
}
