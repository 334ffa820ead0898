package main

import (
	"errors"
	"strconv"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/config"
)

// matcher is one rule's test of an attribute's value.
type matcher struct {
	value  string
	prefix bool // value is a prefix, not the whole value
}

// rules are the drop rules grouped by attribute key, so each key is
// looked up once per span however many rules test it.
type rules struct {
	key      string
	matchers []matcher
}

// Configuration, per instance.
var (
	dropRules   []rules
	keepIfError bool
)

// configure reads
//
//	{"drop": [{"attribute": "http.route", "equals": "/health"},
//	          {"attribute": "url.path", "prefix": "/ready"}],
//	 "keep_if_error": true}
func configure(data []byte) error {
	var parsed []rules
	keepErr := false
	err := config.Decode(data, config.Fields{
		"keep_if_error": config.Bool(&keepErr),
		"drop": config.Each(func(v config.Value) error {
			var key, equals, prefix string
			var hasEquals, hasPrefix bool
			if err := v.Decode(config.Fields{
				"attribute": config.String(&key),
				"equals":    func(v config.Value) (err error) { hasEquals = true; equals, err = v.Str(); return err },
				"prefix":    func(v config.Value) (err error) { hasPrefix = true; prefix, err = v.Str(); return err },
			}); err != nil {
				return err
			}
			if key == "" {
				return v.Error("attribute is required")
			}
			if hasEquals == hasPrefix {
				return v.Error("want exactly one of equals and prefix")
			}
			m := matcher{value: equals}
			if hasPrefix {
				m = matcher{value: prefix, prefix: true}
			}
			for i := range parsed {
				if parsed[i].key == key {
					parsed[i].matchers = append(parsed[i].matchers, m)
					return nil
				}
			}
			parsed = append(parsed, rules{key: key, matchers: []matcher{m}})
			return nil
		}),
	})
	if err != nil {
		return err
	}
	if len(parsed) == 0 {
		return errors.New(`no drop rules: want {"drop": [{"attribute": "http.route", "equals": "/health"}]}`)
	}
	dropRules, keepIfError = parsed, keepErr
	return nil
}

func decide(s sdk.Span) sdk.Decision {
	if keepIfError && s.StatusCode() == sdk.StatusError {
		return sdk.Keep
	}
	for i := range dropRules {
		r := &dropRules[i]
		v, ok := s.Attr(r.key)
		if !ok {
			continue
		}
		if matchValue(r.matchers, v) {
			return sdk.Drop
		}
	}
	return sdk.Keep
}

// matchValue tests the value as the rules see it: strings as they are,
// other values as sdk.Value.AsString renders them (numbers and bools
// without allocating).
func matchValue(ms []matcher, v sdk.Value) bool {
	switch v.Type() {
	case sdk.TypeString:
		return match(ms, v.Str())
	case sdk.TypeInt:
		var buf [24]byte
		return match(ms, strconv.AppendInt(buf[:0], v.Int(), 10))
	case sdk.TypeBool:
		return match(ms, strconv.FormatBool(v.Bool()))
	}
	return match(ms, v.AsString())
}

func match[T string | []byte](ms []matcher, s T) bool {
	for _, m := range ms {
		if string(s) == m.value || m.prefix && len(s) >= len(m.value) && string(s[:len(m.value)]) == m.value {
			return true
		}
	}
	return false
}
