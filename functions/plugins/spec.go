package plugins

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/tracelake/tracelake/storage/objstore"
	"github.com/tracelake/tracelake/storage/tenant"
	"github.com/tracelake/tracelake/wasm/host"
)

// Spec is one plugin of a chain, as configured.
type Spec struct {
	// Name identifies the plugin in metrics and logs. It is unique within a
	// chain, and one name stands for one plugin: chains that share a name
	// share the plugin's settings (and its loaded instances).
	Name string
	// Source is where the module is: a file path ("./p.wasm",
	// "/abs/p.wasm", "file:///abs/p.wasm") or an object URL
	// ("s3://bucket/dir/p.wasm?endpoint=host:port&insecure=true": the
	// object p.wasm of the bucket s3://bucket/dir?endpoint=…, opened as
	// storage opens its bucket, with the same credential rules).
	Source string
	// Config is handed to the plugin's tracelake_init.
	Config []byte
	// Policy handles the batches the plugin fails on.
	Policy host.Policy
	// Timeout bounds one batch; 0 is host.DefaultTimeout.
	Timeout time.Duration
	// MemoryLimitPages bounds each instance's memory in 64 KiB pages; 0 is
	// host.DefaultMemoryLimitPages.
	MemoryLimitPages uint32
	// MinInstances, MaxInstances and MaxBatchSpans size the instance pool
	// and the batches; 0 is the host's default.
	MinInstances, MaxInstances, MaxBatchSpans int
}

// Chains is the whole plugin configuration: which plugins run, in order,
// over each tenant's spans.
type Chains struct {
	// Default is the chain of tenants without their own.
	Default []Spec
	// Tenants are per-tenant chains. A tenant present with an empty (or
	// nil) chain runs no plugins at all, whatever Default says.
	Tenants map[string][]Spec
}

// Bounds of the numbers Validate accepts.
const (
	maxNameLength  = 128
	maxTimeout     = time.Minute
	maxMemoryPages = 65536 // 4 GiB, all a 32-bit WebAssembly memory can address
	maxInstances   = 1024
	maxBatchSpans  = 1 << 20
	maxModuleBytes = 64 << 20
)

// problem is something wrong with a configuration, located by chain,
// position and field so that it can be reported against the Go values
// (Validate) or the YAML paths (Decode).
type problem struct {
	chain chainRef
	index int    // the plugin's position in its chain; -1 for the chain itself
	name  string // the plugin's name, when it has one
	field string // the YAML key; "" for the plugin or chain as a whole
	msg   string
}

// Validate checks the configuration: tenant IDs are valid, every plugin
// has a name unique within its chain and a source, one name means the same
// settings in every chain, and the numbers are in range. Each problem is
// reported with its chain and plugin.
func (c Chains) Validate() error {
	return joinProblems(c.problems(), func(p problem) string {
		chain := p.chain.String()
		if p.index < 0 {
			return chain + ": " + p.msg
		}
		s := fmt.Sprintf("plugin %d", p.index+1)
		if p.name != "" {
			s += fmt.Sprintf(" (%q)", p.name)
		}
		s += " of " + chain
		if p.field != "" {
			s += ": " + p.field
		}
		return s + ": " + p.msg
	})
}

func joinProblems(ps []problem, render func(problem) string) error {
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = errors.New(render(p))
	}
	return errors.Join(errs...)
}

// chainRef names a chain: the default one or a tenant's.
type chainRef struct {
	tenant   string
	isTenant bool
}

func (r chainRef) String() string {
	if r.isTenant {
		return "the chain of tenant " + r.tenant
	}
	return "the default chain"
}

// each calls f for every chain: the default one first, then the tenants'
// in order of their IDs, so that problems are reported in a stable order.
func (c Chains) each(f func(ref chainRef, chain []Spec)) {
	f(chainRef{}, c.Default)
	for _, t := range c.tenantIDs() {
		f(chainRef{tenant: t, isTenant: true}, c.Tenants[t])
	}
}

func (c Chains) tenantIDs() []string {
	ids := make([]string, 0, len(c.Tenants))
	for t := range c.Tenants {
		ids = append(ids, t)
	}
	slices.Sort(ids)
	return ids
}

func (c Chains) problems() []problem {
	var ps []problem
	type first struct {
		chain chainRef
		index int
		key   string
	}
	byName := map[string]first{}
	c.each(func(ref chainRef, chain []Spec) {
		if ref.isTenant {
			if err := tenant.Validate(ref.tenant); err != nil {
				ps = append(ps, problem{chain: ref, index: -1, msg: err.Error()})
			}
		}
		inChain := map[string]int{}
		for i, s := range chain {
			add := func(field, format string, args ...any) {
				ps = append(ps, problem{chain: ref, index: i, name: s.Name, field: field, msg: fmt.Sprintf(format, args...)})
			}
			for _, p := range s.problems() {
				add(p.field, "%s", p.msg)
			}
			if s.Name == "" {
				continue
			}
			if j, ok := inChain[s.Name]; ok {
				add("name", "plugin %d of the same chain has this name already; names must be unique within a chain", j+1)
				continue
			}
			inChain[s.Name] = i
			key := s.key()
			if f, ok := byName[s.Name]; !ok {
				byName[s.Name] = first{ref, i, key}
			} else if f.key != key {
				add("name", "plugin %d of %s has this name with other settings; a name stands for one plugin in metrics and logs, so give this one another name", f.index+1, f.chain)
			}
		}
	})
	return ps
}

// problems checks one plugin's settings on their own.
func (s Spec) problems() []problem {
	var ps []problem
	add := func(field, format string, args ...any) {
		ps = append(ps, problem{field: field, msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case s.Name == "":
		add("name", "missing; every plugin needs a name")
	case len(s.Name) > maxNameLength:
		add("name", "%d characters long, the limit is %d", len(s.Name), maxNameLength)
	default:
		for _, r := range s.Name {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
				add("name", "%q has the character %q; use letters, digits and -_.", s.Name, r)
				break
			}
		}
	}
	if _, err := parseSource(s.Source); err != nil {
		add("source", "%v", err)
	}
	if s.Policy != host.FailOpen && s.Policy != host.FailClosed {
		add("policy", "%d is neither fail-open nor fail-closed", s.Policy)
	}
	if s.Timeout < 0 || s.Timeout > maxTimeout {
		add("timeout", "%s is outside [0, %s] (0 means the host's default, %s)", s.Timeout, maxTimeout, host.DefaultTimeout)
	}
	if s.MemoryLimitPages > maxMemoryPages {
		add("memory-limit", "%d pages of 64 KiB exceed the 4 GiB a plugin can address", s.MemoryLimitPages)
	}
	for _, n := range []struct {
		field    string
		v, limit int
	}{
		{"min-instances", s.MinInstances, maxInstances},
		{"max-instances", s.MaxInstances, maxInstances},
		{"max-batch-spans", s.MaxBatchSpans, maxBatchSpans},
	} {
		if n.v < 0 || n.v > n.limit {
			add(n.field, "%d is outside [0, %d] (0 means the host's default)", n.v, n.limit)
		}
	}
	if s.MaxInstances > 0 && s.MinInstances > s.MaxInstances {
		add("min-instances", "%d exceeds max-instances %d", s.MinInstances, s.MaxInstances)
	}
	return ps
}

// key identifies a Spec's settings: two Specs with the same key load the
// same plugin from the same source.
func (s Spec) key() string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Spec has only marshalable fields
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// fingerprint identifies the configuration. A tenant with a nil chain and
// one with an empty chain are the same configuration.
func (c Chains) fingerprint() string {
	norm := Chains{Default: c.Default, Tenants: map[string][]Spec{}}
	if norm.Default == nil {
		norm.Default = []Spec{}
	}
	for t, chain := range c.Tenants {
		if chain == nil {
			chain = []Spec{}
		}
		norm.Tenants[t] = chain
	}
	b, err := json.Marshal(norm) // map keys are sorted: the encoding is canonical
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// location is where a source is: a file, or an object of a bucket.
type location struct {
	path        string // a file, or
	bucket, key string // an object: the bucket's URL and the key in it
}

func (l location) isObject() bool { return l.bucket != "" }

// parseSource reads a Spec's Source.
func parseSource(src string) (location, error) {
	if src == "" {
		return location{}, errors.New("missing; give a file path or an s3:// URL")
	}
	if !strings.Contains(src, "://") {
		return location{path: src}, nil
	}
	u, err := url.Parse(src)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // without the URL, which may hold a secret
		}
		return location{}, fmt.Errorf("cannot parse the URL: %v", err)
	}
	if u.User != nil {
		return location{}, errors.New("credentials do not belong in the URL; set them in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY) or the AWS credentials file")
	}
	if u.Fragment != "" {
		return location{}, fmt.Errorf("%s: unexpected fragment", src)
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		if u.RawQuery != "" {
			return location{}, fmt.Errorf("%s: file URLs take no parameters", src)
		}
		var p string
		switch u.Host {
		case "", "localhost":
			p = u.Path
		case ".", "..": // file://./p.wasm: a relative path written as a URL
			p = u.Host + u.Path
		default:
			return location{}, fmt.Errorf("%s: file URL host %q; write file:///absolute/p.wasm or file://./relative/p.wasm", src, u.Host)
		}
		if p == "" || strings.HasSuffix(p, "/") {
			return location{}, fmt.Errorf("%s: names no file", src)
		}
		return location{path: p}, nil
	case "s3":
		if u.Host == "" {
			return location{}, fmt.Errorf("%s: no bucket; write s3://bucket/dir/plugin.wasm", src)
		}
		p := strings.TrimPrefix(u.Path, "/")
		if p == "" || strings.HasSuffix(p, "/") {
			return location{}, fmt.Errorf("%s: names no object; write s3://bucket/dir/plugin.wasm", src)
		}
		if err := objstore.ValidateKey(p); err != nil {
			return location{}, fmt.Errorf("%s: object key %q: %v", src, p, err)
		}
		b := url.URL{Scheme: u.Scheme, Host: u.Host, RawQuery: u.RawQuery}
		if dir := path.Dir(p); dir != "." {
			b.Path = "/" + dir
		}
		return location{bucket: b.String(), key: path.Base(p)}, nil
	default:
		return location{}, fmt.Errorf("%s: scheme %q is not supported; give a file path, a file:// URL or an s3:// URL", src, u.Scheme)
	}
}
