package main

import (
	"errors"
	"strings"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/config"
)

// Configuration and scratch space, per instance.
var (
	replacement = defaultReplacement
	allow, deny []string
	detect      = detectAll
	scratch     []byte
)

const defaultReplacement = "[REDACTED]"

// configure reads
//
//	{"replacement": "[REDACTED]",
//	 "keys": {"allow": ["http.route"], "deny": ["enduser.id"]},
//	 "detect": ["email", "card", "bearer"]}
//
// Every field is optional.
func configure(data []byte) error {
	repl := defaultReplacement
	var allowKeys, denyKeys, names []string
	names = []string{"email", "card", "bearer"}
	err := config.Decode(data, config.Fields{
		"replacement": config.String(&repl),
		"keys": func(v config.Value) error {
			return v.Decode(config.Fields{"allow": config.Strings(&allowKeys), "deny": config.Strings(&denyKeys)})
		},
		"detect": config.Strings(&names),
	})
	if err != nil {
		return err
	}
	var d detectors
	for _, n := range names {
		switch n {
		case "email":
			d |= detectEmail
		case "card":
			d |= detectCard
		case "bearer":
			d |= detectBearer
		default:
			return errors.New(`detect: unknown detector "` + n + `" (want email, card or bearer)`)
		}
	}
	for _, k := range allowKeys {
		for _, k2 := range denyKeys {
			if k == k2 {
				return errors.New(`keys: "` + k + `" is both allowed and denied`)
			}
		}
	}
	replacement, allow, deny, detect = repl, allowKeys, denyKeys, d
	return nil
}

// redactSpan keeps the span, redacting its attributes.
func redactSpan(s sdk.Span) sdk.Decision {
	for k, v := range s.Attrs() {
		if contains(allow, k) {
			continue
		}
		if contains(deny, k) || isAuthorization(k) {
			if v.Type() != sdk.TypeString || v.Str() != replacement {
				s.SetAttr(k, replacement)
			}
			continue
		}
		if v.Type() != sdk.TypeString {
			continue // only string values are scanned
		}
		out, found := redact(scratch[:0], v.Str(), replacement, detect)
		if found {
			s.SetAttr(k, string(out))
		}
		scratch = out[:0]
	}
	return sdk.Keep
}

// isAuthorization reports whether key names an authorization header
// (authorization, http.request.header.authorization,
// proxy-authorization…), whose whole value is a credential.
func isAuthorization(key string) bool {
	const suffix = "authorization"
	return len(key) >= len(suffix) && strings.EqualFold(key[len(key)-len(suffix):], suffix)
}

func contains(keys []string, k string) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}
