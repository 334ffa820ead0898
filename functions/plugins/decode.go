package plugins

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/tracelake/tracelake/wasm/host"
)

// Settings is the "plugins" section of the configuration file:
//
//	plugins:
//	  cache-dir: /var/cache/tracelake/plugins   # compiled plugins; empty: in memory
//	  poll-interval: 10s                        # how often sources and this section are checked
//	  default:                                  # the chain of tenants without their own
//	    - name: drop-health-checks
//	      source: /etc/tracelake/plugins/health.wasm
//	      config: {paths: ["/healthz"]}         # a mapping or list is passed as JSON, a string as is
//	      policy: fail-open                     # or fail-closed
//	      timeout: 250ms
//	      memory-limit: 64MiB
//	      min-instances: 1
//	      max-instances: 8
//	      max-batch-spans: 4096
//	  tenants:
//	    acme:                                   # acme's own chain, instead of the default
//	      - name: redact
//	        source: s3://plugins/prod/redact.wasm?endpoint=minio:9000&insecure=true
//	    internal: []                            # no plugins at all for this tenant
type Settings struct {
	CacheDir     string
	PollInterval time.Duration
	Chains       Chains
}

// sectionKeys and specKeys are the keys Decode knows.
var (
	sectionKeys = []string{"cache-dir", "poll-interval", "default", "tenants"}
	specKeys    = []string{"name", "source", "config", "policy", "timeout", "memory-limit", "min-instances", "max-instances", "max-batch-spans"}
)

// Decode reads the plugins section as a YAML parser (or koanf's Get)
// yields it: nested map[string]any (or map[any]any) and []any of strings,
// numbers, booleans and nil. A missing section (nil) is no plugins. Every
// problem is reported, each with its path ("plugins.tenants.acme[1].timeout"),
// including those Chains.Validate finds.
func Decode(raw any) (Settings, error) {
	d := &decoder{}
	var s Settings
	section, ok := d.mapping("plugins", raw)
	if !ok {
		return s, d.err()
	}
	d.unknown("plugins", section, sectionKeys)
	if v, ok := section["cache-dir"]; ok && v != nil {
		s.CacheDir = d.str("plugins.cache-dir", v)
	}
	if v, ok := section["poll-interval"]; ok && v != nil {
		s.PollInterval = d.duration("plugins.poll-interval", v)
		if s.PollInterval < 0 {
			d.fail("plugins.poll-interval", "%s is negative", s.PollInterval)
		}
	}
	s.Chains.Default = d.chain("plugins.default", section["default"])
	if v := section["tenants"]; v != nil {
		tenants, ok := d.mapping("plugins.tenants", v)
		if ok {
			s.Chains.Tenants = make(map[string][]Spec, len(tenants))
			for _, t := range sortedKeys(tenants) {
				p := "plugins.tenants." + t
				if _, isMap := asMap(tenants[t]); isMap {
					d.fail(p, "want a list of plugins, got a mapping (if the tenant ID has a dot, it was read as nested keys: read this section with a YAML parser, not through koanf's dotted paths)")
					continue
				}
				s.Chains.Tenants[t] = d.chain(p, tenants[t])
			}
		}
	}
	if len(d.errs) > 0 {
		return s, d.err()
	}
	if err := joinProblems(s.Chains.problems(), func(p problem) string {
		path := "plugins.default"
		if p.chain.isTenant {
			path = "plugins.tenants." + p.chain.tenant
		}
		if p.index >= 0 {
			path += fmt.Sprintf("[%d]", p.index)
		}
		if p.field != "" {
			path += "." + p.field
		}
		return path + ": " + p.msg
	}); err != nil {
		return s, err
	}
	return s, nil
}

// DecodeChains is Decode's Chains: the configuration Manager.Apply takes.
func DecodeChains(raw any) (Chains, error) {
	s, err := Decode(raw)
	return s.Chains, err
}

type decoder struct{ errs []error }

func (d *decoder) fail(path, format string, args ...any) {
	d.errs = append(d.errs, fmt.Errorf("%s: %s", path, fmt.Sprintf(format, args...)))
}

func (d *decoder) err() error { return errors.Join(d.errs...) }

func (d *decoder) mapping(path string, v any) (map[string]any, bool) {
	if v == nil {
		return nil, false
	}
	m, ok := asMap(v)
	if !ok {
		d.fail(path, "want a mapping, got %s", describe(v))
	}
	return m, ok
}

// asMap accepts the mappings YAML parsers produce.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, v := range m {
			out[fmt.Sprint(k)] = v
		}
		return out, true
	}
	return nil, false
}

func (d *decoder) unknown(path string, m map[string]any, known []string) {
	for _, k := range sortedKeys(m) {
		if !slices.Contains(known, k) {
			d.fail(path, "unknown key %q (known: %s)", k, strings.Join(known, ", "))
		}
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (d *decoder) chain(path string, v any) []Spec {
	if v == nil {
		return []Spec{}
	}
	list, ok := v.([]any)
	if !ok {
		d.fail(path, "want a list of plugins, got %s", describe(v))
		return nil
	}
	chain := make([]Spec, 0, len(list))
	for i, item := range list {
		chain = append(chain, d.spec(fmt.Sprintf("%s[%d]", path, i), item))
	}
	return chain
}

func (d *decoder) spec(path string, v any) Spec {
	var s Spec
	m, ok := d.mapping(path, v)
	if !ok {
		if v == nil {
			d.fail(path, "empty; want a mapping with at least name and source")
		}
		return s
	}
	d.unknown(path, m, specKeys)
	for _, k := range sortedKeys(m) {
		v, p := m[k], path+"."+k
		if v == nil {
			continue // "key:" with no value is the default
		}
		switch k {
		case "name":
			s.Name = d.str(p, v)
		case "source":
			s.Source = d.str(p, v)
		case "config":
			s.Config = d.config(p, v)
		case "policy":
			var err error
			if s.Policy, err = host.ParsePolicy(d.str(p, v)); err != nil {
				d.fail(p, "%v", err)
			}
		case "timeout":
			s.Timeout = d.duration(p, v)
		case "memory-limit":
			s.MemoryLimitPages = d.pages(p, v)
		case "min-instances":
			s.MinInstances = d.int(p, v)
		case "max-instances":
			s.MaxInstances = d.int(p, v)
		case "max-batch-spans":
			s.MaxBatchSpans = d.int(p, v)
		}
	}
	return s
}

func (d *decoder) str(path string, v any) string {
	s, ok := v.(string)
	if !ok {
		d.fail(path, "want a string, got %s", describe(v))
	}
	return s
}

func (d *decoder) duration(path string, v any) time.Duration {
	if s, ok := v.(string); ok {
		t, err := time.ParseDuration(s)
		if err != nil {
			d.fail(path, "%q is not a duration (write 250ms, 2s)", s)
		}
		return t
	}
	if n, ok := integer(v); ok && n == 0 {
		return 0
	}
	d.fail(path, "want a duration such as 250ms, got %s", describe(v))
	return 0
}

// pages reads a size in bytes ("64MiB", 67108864) as 64 KiB pages,
// rounding up.
func (d *decoder) pages(path string, v any) uint32 {
	var bytes uint64
	if s, ok := v.(string); ok {
		n, err := humanize.ParseBytes(s)
		if err != nil {
			d.fail(path, "%q is not a size (write 64MiB)", s)
			return 0
		}
		bytes = n
	} else if n, ok := integer(v); ok && n >= 0 {
		bytes = uint64(n)
	} else {
		d.fail(path, "want a size such as 64MiB, got %s", describe(v))
		return 0
	}
	const page = 64 << 10
	if bytes > maxMemoryPages*page {
		d.fail(path, "%s is more than the 4 GiB a plugin can address", humanize.IBytes(bytes))
		return 0
	}
	return uint32((bytes + page - 1) / page)
}

func (d *decoder) int(path string, v any) int {
	if s, ok := v.(string); ok { // from an environment variable or a flag
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			d.fail(path, "%q is not a whole number", s)
		}
		return n
	}
	n, ok := integer(v)
	if !ok || n < math.MinInt32 || n > math.MaxInt32 {
		d.fail(path, "want a whole number, got %s", describe(v))
		return 0
	}
	return int(n)
}

// integer reads the integer types YAML parsers produce, and floats that
// are whole numbers.
func integer(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	case uint:
		return int64(n), uint64(n) <= math.MaxInt64
	case uint8:
		return int64(n), true
	case uint16:
		return int64(n), true
	case uint32:
		return int64(n), true
	case uint64:
		return int64(n), n <= math.MaxInt64
	case float32:
		return integer(float64(n))
	case float64:
		if n != math.Trunc(n) || n < math.MinInt64 || n >= math.MaxInt64 {
			return 0, false
		}
		return int64(n), true
	}
	return 0, false
}

// config reads a plugin's configuration: a string is passed as is, any
// other value as its JSON encoding (with sorted keys, so that the same
// configuration always gives the same bytes and is not mistaken for a
// change).
func (d *decoder) config(path string, v any) []byte {
	if s, ok := v.(string); ok {
		if s == "" {
			return nil
		}
		return []byte(s)
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		d.fail(path, "cannot pass it to the plugin as JSON: %v", err)
		return nil
	}
	return b
}

// jsonable turns map[any]any, which encoding/json refuses, into
// map[string]any, recursively.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[fmt.Sprint(k)] = jsonable(v)
		}
		return m
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = jsonable(v)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, v := range x {
			l[i] = jsonable(v)
		}
		return l
	}
	return v
}

// describe names a value's YAML type, with the value when it is short.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "nothing"
	case string:
		return fmt.Sprintf("the string %q", x)
	case bool:
		return fmt.Sprintf("the boolean %t", x)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "a mapping"
	}
	if n, ok := integer(v); ok {
		return fmt.Sprintf("the number %d", n)
	}
	switch v.(type) {
	case float32, float64:
		return fmt.Sprintf("the number %v", v)
	}
	return fmt.Sprintf("a %T", v)
}
