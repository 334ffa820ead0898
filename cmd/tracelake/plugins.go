package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/knadh/koanf/parsers/yaml"

	"github.com/tracelake/tracelake/functions/plugins"
)

// readPluginChains reads the sampling plugin chains from the YAML
// configuration file (plugins.default and plugins.tenants). Without a
// file there are none. Relative plugin paths are resolved against the
// file's directory, so a configuration and its plugins can move together.
func readPluginChains(path string) (plugins.Chains, error) {
	if path == "" {
		return plugins.Chains{}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return plugins.Chains{}, fmt.Errorf("config file: %w", err)
	}
	raw, err := yaml.Parser().Unmarshal(data)
	if err != nil {
		return plugins.Chains{}, fmt.Errorf("config file %s: %w", path, err)
	}
	section, ok := raw["plugins"]
	if !ok {
		return plugins.Chains{}, nil
	}
	settings, err := plugins.Decode(section)
	if err != nil {
		return plugins.Chains{}, fmt.Errorf("config file %s: %w", path, err)
	}
	chains := settings.Chains
	dir := filepath.Dir(path)
	resolve := func(specs []plugins.Spec) {
		for i := range specs {
			src := specs[i].Source
			if !strings.Contains(src, "://") && !filepath.IsAbs(src) {
				specs[i].Source = filepath.Join(dir, src)
			}
		}
	}
	resolve(chains.Default)
	for _, specs := range chains.Tenants {
		resolve(specs)
	}
	return chains, nil
}

// pluginCacheDir is where compiled plugins are kept between starts, so a
// cold start (a new pod, a Lambda) does not recompile them.
func pluginCacheDir(setting string) string {
	switch setting {
	case "memory":
		return ""
	case "":
		if dir, err := os.UserCacheDir(); err == nil {
			return filepath.Join(dir, "tracelake", "plugins")
		}
		return filepath.Join(os.TempDir(), "tracelake-plugins")
	}
	return setting
}
