package scalebench

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"google.golang.org/protobuf/encoding/protowire"
)

// Just enough of pprof's profile.proto (github.com/google/pprof/proto/
// profile.proto) to say where CPU time went: samples with their stacks
// and values, locations, functions and the string table. Go's CPU
// profiles carry function names, so no binary is needed to read them.

type rawProfile struct {
	sampleTypes []string
	samples     []rawSample
	locations   map[uint64][]uint64 // location ID → function IDs, innermost first
	functions   map[uint64]int64    // function ID → name (string index)
	strings     []string
}

type rawSample struct {
	locs   []uint64 // leaf first
	values []int64
}

// readProfile parses a (gzipped) profile.proto file.
func readProfile(path string) (*rawProfile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	p, err := parseProfile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

var errProfile = errors.New("malformed profile")

func parseProfile(b []byte) (*rawProfile, error) {
	p := &rawProfile{locations: map[uint64][]uint64{}, functions: map[uint64]int64{}}
	var typeIdx []int64
	err := fields(b, func(num protowire.Number, typ protowire.Type, v uint64, msg []byte) error {
		switch num {
		case 1: // sample_type
			var t int64
			if err := fields(msg, func(n protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
				if n == 1 {
					t = int64(v)
				}
				return nil
			}); err != nil {
				return err
			}
			typeIdx = append(typeIdx, t)
		case 2: // sample
			var s rawSample
			if err := fields(msg, func(n protowire.Number, t protowire.Type, v uint64, m []byte) error {
				switch n {
				case 1:
					return varints(t, v, m, func(x uint64) { s.locs = append(s.locs, x) })
				case 2:
					return varints(t, v, m, func(x uint64) { s.values = append(s.values, int64(x)) })
				}
				return nil
			}); err != nil {
				return err
			}
			p.samples = append(p.samples, s)
		case 4: // location
			var id uint64
			var funcs []uint64
			if err := fields(msg, func(n protowire.Number, _ protowire.Type, v uint64, m []byte) error {
				switch n {
				case 1:
					id = v
				case 4: // line
					return fields(m, func(n protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
						if n == 1 {
							funcs = append(funcs, v)
						}
						return nil
					})
				}
				return nil
			}); err != nil {
				return err
			}
			p.locations[id] = funcs
		case 5: // function
			var id uint64
			var name int64
			if err := fields(msg, func(n protowire.Number, _ protowire.Type, v uint64, _ []byte) error {
				switch n {
				case 1:
					id = v
				case 2:
					name = int64(v)
				}
				return nil
			}); err != nil {
				return err
			}
			p.functions[id] = name
		case 6: // string_table
			if typ != protowire.BytesType {
				return errProfile
			}
			p.strings = append(p.strings, string(msg))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range typeIdx {
		p.sampleTypes = append(p.sampleTypes, p.str(t))
	}
	return p, nil
}

func (p *rawProfile) str(i int64) string {
	if i < 0 || int(i) >= len(p.strings) {
		return ""
	}
	return p.strings[i]
}

// fields calls fn for each field of a message: v for varints and fixed
// numbers, msg for length-delimited ones.
func fields(b []byte, fn func(protowire.Number, protowire.Type, uint64, []byte) error) error {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return errProfile
		}
		b = b[n:]
		var v uint64
		var msg []byte
		switch typ {
		case protowire.VarintType:
			v, n = protowire.ConsumeVarint(b)
		case protowire.Fixed64Type:
			v, n = protowire.ConsumeFixed64(b)
		case protowire.Fixed32Type:
			var v32 uint32
			v32, n = protowire.ConsumeFixed32(b)
			v = uint64(v32)
		case protowire.BytesType:
			msg, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return errProfile
		}
		b = b[n:]
		if err := fn(num, typ, v, msg); err != nil {
			return err
		}
	}
	return nil
}

// varints reads a repeated integer field, packed or not.
func varints(typ protowire.Type, v uint64, packed []byte, add func(uint64)) error {
	if typ == protowire.VarintType {
		add(v)
		return nil
	}
	for len(packed) > 0 {
		x, n := protowire.ConsumeVarint(packed)
		if n < 0 {
			return errProfile
		}
		add(x)
		packed = packed[n:]
	}
	return nil
}

// ProfileSummary says where a phase's CPU time went.
type ProfileSummary struct {
	Name  string   `json:"name"`
	Files []string `json:"files"`
	// TotalSeconds is the CPU time sampled.
	TotalSeconds float64 `json:"total_seconds"`
	// Packages and Functions are by self ("flat") time; Tracelake is
	// tracelake's own functions by time including callees ("cum").
	Packages  []ProfileEntry `json:"packages"`
	Functions []ProfileEntry `json:"functions"`
	Tracelake []ProfileEntry `json:"tracelake_cumulative"`
}

// ProfileEntry is one line of a top list.
type ProfileEntry struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Share   float64 `json:"share"` // of TotalSeconds
}

const (
	tracelakeModule = "github.com/tracelake/tracelake/"
	selfPackage     = tracelakeModule + "cmd/tracelake/internal/scalebench"
)

// shortName drops the type arguments of generic functions' names
// ("readRows[go.shape.struct { … }]" → "readRows[…]"): they can be
// hundreds of characters long.
func shortName(fn string) string {
	var b strings.Builder
	depth := 0
	for _, r := range fn {
		switch {
		case r == '[':
			if depth == 0 {
				b.WriteString("[…]")
			}
			depth++
		case r == ']' && depth > 0:
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// summarizeProfiles merges the CPU profiles at paths (of one process) and
// lists the top n entries of each kind.
func summarizeProfiles(name string, paths []string, n int) (*ProfileSummary, error) {
	flatFn := map[string]int64{}
	flatPkg := map[string]int64{}
	cumOwn := map[string]int64{}
	var total int64
	for _, path := range paths {
		p, err := readProfile(path)
		if err != nil {
			return nil, err
		}
		// The CPU time is the "cpu" (nanoseconds) value.
		vi := len(p.sampleTypes) - 1
		for i, t := range p.sampleTypes {
			if t == "cpu" {
				vi = i
			}
		}
		if vi < 0 {
			continue
		}
		for _, s := range p.samples {
			if vi >= len(s.values) {
				continue
			}
			v := s.values[vi]
			total += v
			seen := map[string]bool{}
			leaf := true
			for _, loc := range s.locs {
				for _, fid := range p.locations[loc] {
					fn := shortName(p.str(p.functions[fid]))
					if leaf {
						flatFn[fn] += v
						flatPkg[funcPackage(fn)] += v
						leaf = false
					}
					if strings.HasPrefix(fn, tracelakeModule) && !strings.HasPrefix(fn, selfPackage) && !seen[fn] {
						seen[fn] = true
						cumOwn[fn] += v
					}
				}
			}
		}
	}
	sum := &ProfileSummary{Name: name, Files: paths, TotalSeconds: float64(total) / 1e9}
	sum.Packages = top(flatPkg, total, n)
	sum.Functions = top(flatFn, total, n)
	sum.Tracelake = top(cumOwn, total, n)
	return sum, nil
}

func top(m map[string]int64, total int64, n int) []ProfileEntry {
	out := make([]ProfileEntry, 0, len(m))
	for k, v := range m {
		e := ProfileEntry{Name: k, Seconds: float64(v) / 1e9}
		if total > 0 {
			e.Share = float64(v) / float64(total)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b ProfileEntry) int {
		if c := cmp.Compare(b.Seconds, a.Seconds); c != 0 {
			return c
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out[:min(n, len(out))]
}

// funcPackage is the package path of a Go function's symbol name:
// "github.com/a/b.(*T).M.func1" → "github.com/a/b", "runtime.mallocgc" →
// "runtime".
func funcPackage(fn string) string {
	slash := strings.LastIndexByte(fn, '/')
	if dot := strings.IndexByte(fn[slash+1:], '.'); dot >= 0 {
		return fn[:slash+1+dot]
	}
	return fn
}
