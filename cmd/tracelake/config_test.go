package main

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/pflag"
)

func load(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := pflag.NewFlagSet("test", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return loadConfig(fs, args, func(k string) string { return env[k] })
}

func TestDefaultsAreValid(t *testing.T) {
	cfg, err := load(t, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, DefaultConfig()) {
		t.Fatalf("no settings gave %+v, want the defaults", cfg)
	}
}

func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tracelake.yaml")
	yaml := `
storage:
  url: s3://from-file
ingest:
  batch:
    max-delay: 1s
    max-bytes: 4MiB
query:
  concurrency: 3
log:
  level: debug
`
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"TRACELAKE_CONFIG":                   path,
		"TRACELAKE_INGEST_BATCH_MAX_DELAY":   "2s",   // env beats the file
		"TRACELAKE_QUERY_CONCURRENCY":        "5",    // … and is beaten by the flag
		"TRACELAKE_LOG_FORMAT":               "json", // env alone
		"TRACELAKE_ZIPKIN_AUTOCOMPLETE_KEYS": "http.method,env",
	}
	cfg, err := load(t, []string{"--query.concurrency", "7", "--storage", "./elsewhere"}, env)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Storage.URL = "./elsewhere"
	want.Ingest.Batch.MaxDelay = 2 * time.Second
	want.Ingest.Batch.MaxBytes = 4 << 20
	want.Query.Concurrency = 7
	want.Log.Level = "debug"
	want.Log.Format = "json"
	want.Zipkin.AutocompleteKeys = []string{"http.method", "env"}
	want.configFile = path
	if !reflect.DeepEqual(cfg, want) {
		t.Fatalf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestUnknownFileKeyIsAnError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(path, []byte("ingest:\n  batch:\n    max-dealy: 1s\n"), 0o644)
	_, err := load(t, []string{"--config", path}, nil)
	if err == nil || !strings.Contains(err.Error(), "max-dealy") {
		t.Fatalf("a misspelt key gave %v", err)
	}
}

func TestValidationNamesEverySetting(t *testing.T) {
	_, err := load(t, []string{
		"--ingest.batch.max-delay", "-1s",
		"--query.http-addr", "no-port",
		"--ingest.max-request-bytes", "100MiB",
		"--shutdown-timeout", "0s",
	}, nil)
	if err == nil {
		t.Fatal("invalid settings accepted")
	}
	for _, key := range []string{"ingest.batch.max-delay", "query.http-addr", "ingest.batch.max-pending-bytes", "shutdown-timeout"} {
		if !strings.Contains(err.Error(), key) {
			t.Errorf("error does not name %s:\n%v", key, err)
		}
	}
	if _, err := load(t, []string{"--ingest.max-request-bytes", "lots"}, nil); err == nil || !strings.Contains(err.Error(), "not a size") {
		t.Errorf("a bad size gave %v", err)
	}
}

func TestEveryKeyIsDocumented(t *testing.T) {
	k := koanf.New(".")
	if err := k.Load(structs.Provider(DefaultConfig(), "koanf"), nil); err != nil {
		t.Fatal(err)
	}
	for _, key := range k.Keys() {
		if settingHelp[key] == "" {
			t.Errorf("setting %s has no help text", key)
		}
	}
	if len(settingHelp) != len(k.Keys()) {
		t.Errorf("settingHelp documents %d keys, the config has %d", len(settingHelp), len(k.Keys()))
	}
}

func TestPluginChainsFromFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tracelake.yaml")
	yaml := `
plugins:
  poll-interval: 3s
  default:
    - name: sample
      source: plugins/probabilistic.wasm
      config: {percent: 10}
      policy: fail-closed
  tenants:
    acme.prod:
      - name: redact
        source: /abs/redact.wasm
        config: '{"replacement": "x"}'
    internal: []
`
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := load(t, []string{"--config", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Plugins.PollInterval != 3*time.Second {
		t.Errorf("poll interval %s", cfg.Plugins.PollInterval)
	}
	chains, err := readPluginChains(cfg.configFile)
	if err != nil {
		t.Fatal(err)
	}
	if len(chains.Default) != 1 || chains.Default[0].Source != filepath.Join(dir, "plugins/probabilistic.wasm") ||
		string(chains.Default[0].Config) != `{"percent":10}` {
		t.Errorf("default chain %+v", chains.Default)
	}
	if acme := chains.Tenants["acme.prod"]; len(acme) != 1 || acme[0].Source != "/abs/redact.wasm" || string(acme[0].Config) != `{"replacement": "x"}` {
		t.Errorf("a tenant ID with a dot: %+v", chains.Tenants)
	}
	if internal, ok := chains.Tenants["internal"]; !ok || len(internal) != 0 {
		t.Errorf("an explicitly empty chain: %+v", chains.Tenants)
	}
	if c, err := readPluginChains(""); err != nil || len(c.Default) != 0 {
		t.Errorf("no file: %+v, %v", c, err)
	}
}
