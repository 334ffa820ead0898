package config

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// toAny converts v to what encoding/json would decode it to.
func toAny(v Value) any {
	switch v.kind {
	case KindBool:
		return v.b
	case KindNumber:
		return v.num
	case KindString:
		return v.str
	case KindArray:
		out := make([]any, 0, len(v.items))
		for _, it := range v.items {
			out = append(out, toAny(it))
		}
		return out
	case KindObject:
		out := map[string]any{}
		for _, m := range v.members {
			out[m.Key] = toAny(m.Value)
		}
		return out
	}
	return nil
}

func TestParse(t *testing.T) {
	for _, doc := range []string{
		`null`, `true`, `false`, `0`, `-0`, `12.5e-3`, `-1E+2`, `""`, `"a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00é"`,
		`[]`, `{}`, ` [1, "two", [3], {"four": 4}] `, `{"a": {"b": [true, null]}, "c": "d"}`,
	} {
		v, err := Parse([]byte(doc))
		if err != nil {
			t.Errorf("Parse(%s): %v", doc, err)
			continue
		}
		var want any
		if err := json.Unmarshal([]byte(doc), &want); err != nil {
			t.Fatal(err)
		}
		if got := toAny(v); !reflect.DeepEqual(got, want) {
			t.Errorf("Parse(%s) = %#v, want %#v", doc, got, want)
		}
	}
	for _, doc := range []string{
		`nul`, `tru`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `"abc`, `"\x"`, "\"a\x01\"", "\"\xff\"", `"\u12"`,
		`[1,]`, `[1 2]`, `{"a"}`, `{"a":1,}`, `{a:1}`, `{"a":1 "b":2}`, `1 2`, `[`, `{`, `1e400`,
		strings.Repeat("[", maxDepth+2) + strings.Repeat("]", maxDepth+2),
	} {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("Parse(%q) succeeded", doc)
		}
	}
	if v, err := Parse([]byte(" \n")); err != nil || v.Kind() != KindNull {
		t.Errorf("empty input: %v, %v", v.Kind(), err)
	}
}

func TestDecode(t *testing.T) {
	type rule struct {
		key, equals string
	}
	type cfg struct {
		percent float64
		count   int64
		name    string
		on      bool
		keys    []string
		rules   []rule
		extra   map[string]float64
	}
	decode := func(doc string) (cfg, error) {
		c := cfg{percent: 100, name: "default"}
		err := Decode([]byte(doc), Fields{
			"percent": Float(&c.percent),
			"count":   Int(&c.count),
			"name":    String(&c.name),
			"on":      Bool(&c.on),
			"keys":    Strings(&c.keys),
			"rules": Each(func(v Value) error {
				var r rule
				if err := v.Decode(Fields{"attribute": String(&r.key), "equals": String(&r.equals)}); err != nil {
					return err
				}
				c.rules = append(c.rules, r)
				return nil
			}),
			"extra": func(v Value) error {
				members, err := v.Members()
				if err != nil {
					return err
				}
				c.extra = map[string]float64{}
				for _, m := range members {
					f, err := m.Value.Float()
					if err != nil {
						return err
					}
					c.extra[m.Key] = f
				}
				return nil
			},
		})
		return c, err
	}
	c, err := decode(`{"percent": 12.5, "count": 3, "name": "n", "on": true, "keys": ["a", "b"],
		"rules": [{"attribute": "http.route", "equals": "/health"}], "extra": {"x": 1}}`)
	if err != nil {
		t.Fatal(err)
	}
	want := cfg{percent: 12.5, count: 3, name: "n", on: true, keys: []string{"a", "b"},
		rules: []rule{{"http.route", "/health"}}, extra: map[string]float64{"x": 1}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("decoded %+v, want %+v", c, want)
	}
	for _, doc := range []string{"", "null", "{}"} {
		c, err := decode(doc)
		if err != nil || c.percent != 100 || c.name != "default" {
			t.Errorf("%q: defaults not kept: %+v %v", doc, c, err)
		}
	}
	for doc, msg := range map[string]string{
		`{"percent": "10"}`:  `percent: want a number, got "10"`,
		`{"precent": 10}`:    `unknown field "precent"`,
		`{"count": 1.5}`:     `count: want an integer, got 1.5`,
		`{"count": 1e300}`:   `count: want an integer`,
		`{"on": 1}`:          `on: want a bool, got number`,
		`{"keys": ["a", 2]}`: `keys[1]: want a string, got number`,
		`{"keys": "a"}`:      `keys: want an array, got "a"`,
		`{"rules": [{"attribute": "a"}, {"x": 1}]}`: `rules[1]: unknown field "x"`,
		`{"rules": [{"equals": null}]}`:             `rules[0].equals: want a string, got null`,
		`{"extra": {"x": true}}`:                    `extra.x: want a number, got bool`,
		`{"extra": []}`:                             `extra: want an object, got array`,
		`{"percent": 1, "percent": 2}`:              `duplicate field "percent"`,
		`[1]`:                                       `want an object, got array`,
		`{"percent": }`:                             `invalid JSON at byte 12`,
	} {
		_, err := decode(doc)
		if err == nil || err.Error() != msg && !strings.HasPrefix(err.Error(), msg) {
			t.Errorf("%s: error %v, want %q", doc, err, msg)
		}
	}
}

// FuzzParse: whatever Parse accepts, encoding/json accepts and decodes to
// the same thing.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{"a": [1, "b", {"c": null}]}`, `"\ud83d\ude00"`, `-1.5e3`, `[true,false]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		if err != nil || len(strings.TrimSpace(string(data))) == 0 {
			return
		}
		if !json.Valid(data) {
			t.Fatalf("Parse accepted %q, encoding/json does not", data)
		}
		var want any
		if err := json.Unmarshal(data, &want); err != nil {
			t.Fatal(err)
		}
		got := toAny(v)
		if !reflect.DeepEqual(got, want) && utf8.Valid(data) && !hasNaN(got) {
			t.Fatalf("Parse(%q) = %#v, encoding/json %#v", data, got, want)
		}
	})
}

func hasNaN(v any) bool {
	f, ok := v.(float64)
	return ok && math.IsNaN(f)
}
