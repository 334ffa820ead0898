package plugins

import (
	"strings"
	"testing"
	"time"

	"github.com/knadh/koanf/parsers/yaml"

	"github.com/tracelake/tracelake/wasm/host"
)

func TestValidate(t *testing.T) {
	ok := Spec{Name: "p", Source: "./p.wasm"}
	with := func(f func(*Spec)) Spec {
		s := ok
		f(&s)
		return s
	}
	for _, tc := range []struct {
		name   string
		chains Chains
		want   string // "" for valid
	}{
		{"empty", Chains{}, ""},
		{"default and tenants", Chains{Default: []Spec{ok}, Tenants: map[string][]Spec{"acme": {ok}, "none": nil}}, ""},
		{"all sources", Chains{Default: []Spec{
			with(func(s *Spec) { s.Name, s.Source = "a", "/abs/p.wasm" }),
			with(func(s *Spec) { s.Name, s.Source = "b", "file:///abs/p.wasm" }),
			with(func(s *Spec) { s.Name, s.Source = "c", "file://./rel/p.wasm" }),
			with(func(s *Spec) { s.Name, s.Source = "d", "s3://bucket/dir/p.wasm?endpoint=minio:9000&insecure=true" }),
			with(func(s *Spec) { s.Name, s.Source = "e", "s3://bucket/p.wasm" }),
		}}, ""},
		{"no name", Chains{Default: []Spec{with(func(s *Spec) { s.Name = "" })}}, "plugin 1 of the default chain: name: missing"},
		{"odd name", Chains{Default: []Spec{with(func(s *Spec) { s.Name = "a b" })}}, `name: "a b" has the character ' '`},
		{"duplicate name", Chains{Tenants: map[string][]Spec{"acme": {ok, with(func(s *Spec) { s.Source = "q.wasm" })}}},
			`plugin 2 ("p") of the chain of tenant acme: name: plugin 1 of the same chain has this name already`},
		{"one name, two plugins", Chains{Default: []Spec{ok}, Tenants: map[string][]Spec{"acme": {with(func(s *Spec) { s.Config = []byte("x") })}}},
			`plugin 1 ("p") of the chain of tenant acme: name: plugin 1 of the default chain has this name with other settings`},
		{"no source", Chains{Default: []Spec{with(func(s *Spec) { s.Source = "" })}}, "source: missing"},
		{"bucket without object", Chains{Default: []Spec{with(func(s *Spec) { s.Source = "s3://bucket/" })}}, "names no object"},
		{"unknown scheme", Chains{Default: []Spec{with(func(s *Spec) { s.Source = "https://example.com/p.wasm" })}}, `scheme "https" is not supported`},
		{"credentials in URL", Chains{Default: []Spec{with(func(s *Spec) { s.Source = "s3://key:secret@bucket/p.wasm" })}}, "credentials do not belong in the URL"},
		{"bad tenant", Chains{Tenants: map[string][]Spec{"a/b": nil}}, "the chain of tenant a/b: tenant ID"},
		{"empty tenant", Chains{Tenants: map[string][]Spec{"": nil}}, "tenant ID is empty"},
		{"negative timeout", Chains{Default: []Spec{with(func(s *Spec) { s.Timeout = -time.Second })}}, "timeout: -1s is outside"},
		{"huge timeout", Chains{Default: []Spec{with(func(s *Spec) { s.Timeout = time.Hour })}}, "timeout: 1h0m0s is outside"},
		{"policy", Chains{Default: []Spec{with(func(s *Spec) { s.Policy = 7 })}}, "policy: 7"},
		{"memory", Chains{Default: []Spec{with(func(s *Spec) { s.MemoryLimitPages = 1 << 20 })}}, "memory-limit"},
		{"negative instances", Chains{Default: []Spec{with(func(s *Spec) { s.MaxInstances = -1 })}}, "max-instances: -1 is outside"},
		{"min over max", Chains{Default: []Spec{with(func(s *Spec) { s.MinInstances, s.MaxInstances = 3, 2 })}}, "min-instances: 3 exceeds max-instances 2"},
		{"batch", Chains{Default: []Spec{with(func(s *Spec) { s.MaxBatchSpans = -5 })}}, "max-batch-spans"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.chains.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestParseSource(t *testing.T) {
	for src, want := range map[string]location{
		"./p.wasm":                     {path: "./p.wasm"},
		"/abs/p.wasm":                  {path: "/abs/p.wasm"},
		"file:///abs/p.wasm":           {path: "/abs/p.wasm"},
		"file://localhost/abs/p.wasm":  {path: "/abs/p.wasm"},
		"file://./rel/p.wasm":          {path: "./rel/p.wasm"},
		"s3://b/p.wasm":                {bucket: "s3://b", key: "p.wasm"},
		"s3://b/dir/sub/p.wasm":        {bucket: "s3://b/dir/sub", key: "p.wasm"},
		"s3://b/dir/p.wasm?region=eu1": {bucket: "s3://b/dir?region=eu1", key: "p.wasm"},
		"s3://b/d/p.wasm?endpoint=minio:9000&insecure=true": {bucket: "s3://b/d?endpoint=minio:9000&insecure=true", key: "p.wasm"},
	} {
		got, err := parseSource(src)
		if err != nil || got != want {
			t.Errorf("parseSource(%q) = %+v, %v; want %+v", src, got, err, want)
		}
	}
}

func TestFingerprint(t *testing.T) {
	a := Chains{Default: []Spec{{Name: "p", Source: "p.wasm"}}, Tenants: map[string][]Spec{"x": nil, "y": {{Name: "q", Source: "q.wasm"}}}}
	b := Chains{Default: []Spec{{Name: "p", Source: "p.wasm"}}, Tenants: map[string][]Spec{"y": {{Name: "q", Source: "q.wasm"}}, "x": {}}}
	if a.fingerprint() != b.fingerprint() {
		t.Error("equal configurations have different fingerprints")
	}
	b.Tenants["x"] = []Spec{{Name: "p", Source: "p.wasm"}}
	if a.fingerprint() == b.fingerprint() {
		t.Error("different configurations have the same fingerprint")
	}
	if (Chains{}).fingerprint() != (Chains{Default: []Spec{}, Tenants: map[string][]Spec{}}).fingerprint() {
		t.Error("nil and empty differ")
	}
}

func parseYAML(t testing.TB, doc string) any {
	t.Helper()
	m, err := yaml.Parser().Unmarshal([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return m["plugins"]
}

func TestDecode(t *testing.T) {
	raw := parseYAML(t, `
plugins:
  cache-dir: /var/cache/tracelake
  poll-interval: 30s
  default:
    - name: health
      source: /etc/tracelake/plugins/health.wasm
      config: {paths: ["/healthz", "/readyz"], rate: 0.5, nested: {b: 1, a: true}}
      policy: fail-closed
      timeout: 100ms
      memory-limit: 32MiB
      min-instances: 2
      max-instances: 8
      max-batch-spans: 1000
    - name: raw
      source: s3://plugins/prod/raw.wasm?endpoint=minio:9000
      config: "keep=errors"
  tenants:
    acme:
      - name: health
        source: /etc/tracelake/plugins/health.wasm
        config: {nested: {a: true, b: 1}, rate: 0.5, paths: ["/healthz", "/readyz"]}
        policy: fail-closed
        timeout: 100ms
        memory-limit: 33554432
        min-instances: 2
        max-instances: 8
        max-batch-spans: 1000
    quiet: []
    silent:
`)
	s, err := Decode(raw)
	if err != nil {
		t.Fatal(err)
	}
	if s.CacheDir != "/var/cache/tracelake" || s.PollInterval != 30*time.Second {
		t.Errorf("settings %+v", s)
	}
	c := s.Chains
	want := Spec{
		Name: "health", Source: "/etc/tracelake/plugins/health.wasm",
		Config: []byte(`{"nested":{"a":true,"b":1},"paths":["/healthz","/readyz"],"rate":0.5}`),
		Policy: host.FailClosed, Timeout: 100 * time.Millisecond, MemoryLimitPages: 512,
		MinInstances: 2, MaxInstances: 8, MaxBatchSpans: 1000,
	}
	if len(c.Default) != 2 || c.Default[0].key() != want.key() {
		t.Fatalf("default chain %+v\nwant first %+v", c.Default, want)
	}
	if string(c.Default[1].Config) != "keep=errors" || c.Default[1].Policy != host.FailOpen {
		t.Errorf("second plugin %+v", c.Default[1])
	}
	// The same settings written differently are the same plugin.
	if c.Tenants["acme"][0].key() != want.key() {
		t.Errorf("acme's plugin %+v", c.Tenants["acme"][0])
	}
	for _, tenant := range []string{"quiet", "silent"} {
		if chain, ok := c.Tenants[tenant]; !ok || len(chain) != 0 {
			t.Errorf("tenant %s: %v, %v; want an explicitly empty chain", tenant, chain, ok)
		}
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}

	if s, err := Decode(nil); err != nil || len(s.Chains.Default) != 0 || s.Chains.Tenants != nil {
		t.Errorf("Decode(nil) = %+v, %v", s, err)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		doc  string
		want []string
	}{
		{"plugins: [a]", []string{"plugins: want a mapping, got a list"}},
		{"plugins: {defaults: []}", []string{`plugins: unknown key "defaults"`}},
		{"plugins: {default: {name: x}}", []string{"plugins.default: want a list of plugins, got a mapping"}},
		{"plugins: {default: [x]}", []string{`plugins.default[0]: want a mapping, got the string "x"`}},
		{"plugins: {default: [~]}", []string{"plugins.default[0]: empty"}},
		{"plugins: {poll-interval: soon}", []string{`plugins.poll-interval: "soon" is not a duration`}},
		{`plugins: {tenants: {acme: [{name: p, source: p.wasm, timout: 1s}]}}`, []string{`plugins.tenants.acme[0]: unknown key "timout"`}},
		{`plugins: {tenants: {acme: [{name: p, source: p.wasm}, {name: q, source: q.wasm, timeout: 5}]}}`, []string{"plugins.tenants.acme[1].timeout: want a duration such as 250ms, got the number 5"}},
		{`plugins: {default: [{name: p, source: p.wasm, timeout: 2h}]}`, []string{"plugins.default[0].timeout: 2h0m0s is outside"}},
		{`plugins: {default: [{name: 7, source: p.wasm, policy: fail-maybe}]}`, []string{
			"plugins.default[0].name: want a string, got the number 7",
			`plugins.default[0].policy: failure policy "fail-maybe"`,
		}},
		{`plugins: {default: [{name: p, source: p.wasm, memory-limit: lots, max-instances: 1.5, min-instances: "x"}]}`, []string{
			`plugins.default[0].memory-limit: "lots" is not a size`,
			"plugins.default[0].max-instances: want a whole number, got the number 1.5",
			`plugins.default[0].min-instances: "x" is not a whole number`,
		}},
		{`plugins: {default: [{name: p, source: p.wasm, memory-limit: 8GiB}]}`, []string{"plugins.default[0].memory-limit: 8.0 GiB is more than"}},
		{`plugins: {default: [{name: p, source: p.wasm}, {name: p, source: q.wasm}]}`, []string{"plugins.default[1].name: plugin 1 of the same chain has this name already"}},
		{`plugins: {default: [{source: p.wasm}]}`, []string{"plugins.default[0].name: missing"}},
		{`plugins: {tenants: {"a/b": []}}`, []string{"plugins.tenants.a/b: tenant ID"}},
		// koanf splits keys at dots: a tenant ID with one arrives as nested keys.
		{`plugins: {tenants: {acme: {prod: []}}}`, []string{"plugins.tenants.acme: want a list of plugins, got a mapping (if the tenant ID has a dot"}},
	} {
		_, err := Decode(parseYAML(t, tc.doc))
		if err == nil {
			t.Errorf("%s: no error", tc.doc)
			continue
		}
		for _, want := range tc.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s:\n%v\nwant an error containing %q", tc.doc, err, want)
			}
		}
	}
}

func TestDecodeMapAnyAny(t *testing.T) {
	// Some YAML parsers (yaml.v2) produce map[any]any.
	raw := map[any]any{"default": []any{map[any]any{"name": "p", "source": "p.wasm", "config": map[any]any{1: "x"}}}}
	c, err := DecodeChains(raw)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Default) != 1 || string(c.Default[0].Config) != `{"1":"x"}` {
		t.Fatalf("%+v", c)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte("plugins: {default: [{name: p, source: p.wasm, timeout: 1s, memory-limit: 1MiB}]}"))
	f.Add([]byte("plugins: {tenants: {acme: [{name: p, source: 's3://b/p.wasm', config: {a: [1, 2.5, x]}}], b: ~}}"))
	f.Add([]byte("plugins: {default: [{name: p, source: p.wasm, max-instances: 1e3, min-instances: '2'}]}"))
	f.Fuzz(func(t *testing.T, doc []byte) {
		m, err := yaml.Parser().Unmarshal(doc)
		if err != nil {
			return
		}
		s, err := Decode(m["plugins"])
		if err != nil {
			return
		}
		// What Decode accepts, Validate accepts, and decoding it again
		// gives the same configuration.
		if err := s.Chains.Validate(); err != nil {
			t.Fatalf("Decode accepted what Validate rejects: %v", err)
		}
		again, err := Decode(m["plugins"])
		if err != nil || again.Chains.fingerprint() != s.Chains.fingerprint() {
			t.Fatalf("decoding again: %v, or a different configuration", err)
		}
	})
}
