package plugintool

import (
	"encoding/binary"

	"github.com/tracelake/tracelake/wasm/abi"
)

// baselineModule is the smallest plugin the ABI allows: it reads nothing,
// keeps every span (the host zeroes the decisions) and edits none. Timing
// it gives the host's share of a plugin call: writing the batch, entering
// and leaving the guest, reading the decisions. It declares features, so
// the host writes it the same batch it writes the plugin it is the
// baseline of.
//
// In the WebAssembly text format:
//
//	(module
//	  (memory (export "memory") 1)
//	  (func (export "tracelake_abi_version") (result i32) i32.const 1)
//	  (func (export "tracelake_features") (result i32) i32.const <features>)
//	  ;; One buffer at 1024, grown to fit.
//	  (func (export "tracelake_alloc") (param $n i32) (result i32) (local $grow i32)
//	    (local.set $grow (i32.sub (i32.shr_u (i32.add (local.get $n) (i32.const 66559)) (i32.const 16))
//	                              (memory.size)))
//	    (if (i32.gt_s (local.get $grow) (i32.const 0))
//	      (then (if (i32.eq (memory.grow (local.get $grow)) (i32.const -1))
//	        (then (return (i32.const 0))))))
//	    i32.const 1024)
//	  (func (export "tracelake_sample") (param i32 i32) (result i32) i32.const 0))
func baselineModule(features uint32) []byte {
	const (
		i32     = 0x7f
		funcTyp = 0x60
		bufAt   = 1024
	)
	body := func(locals []byte, code ...byte) []byte {
		b := append(append([]byte{}, locals...), code...)
		return append(uleb(uint32(len(b)+1)), append(b, 0x0b)...)
	}
	alloc := []byte{
		0x20, 0x00, // local.get $n
		0x41, // i32.const
	}
	alloc = append(alloc, sleb32(bufAt+65535)...)
	alloc = append(alloc,
		0x6a,       // i32.add
		0x41, 0x10, // i32.const 16
		0x76,       // i32.shr_u
		0x3f, 0x00, // memory.size
		0x6b,       // i32.sub
		0x22, 0x01, // local.tee $grow
		0x41, 0x00, // i32.const 0
		0x4a,       // i32.gt_s
		0x04, 0x40, // if
		0x20, 0x01, // local.get $grow
		0x40, 0x00, // memory.grow
		0x41, 0x7f, // i32.const -1
		0x46,       // i32.eq
		0x04, 0x40, // if
		0x41, 0x00, // i32.const 0
		0x0f, // return
		0x0b, // end
		0x0b, // end
		0x41, // i32.const
	)
	alloc = append(alloc, sleb32(bufAt)...)
	features32 := append([]byte{0x41}, sleb32(int32(features&abi.FeaturesAll))...)

	var m []byte
	m = append(m, 0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00)
	// Sections: types, functions' types, memory, exports, code.
	m = section(m, 1, vec(
		[]byte{funcTyp, 0, 1, i32},           // 0: () → i32
		[]byte{funcTyp, 1, i32, 1, i32},      // 1: (i32) → i32
		[]byte{funcTyp, 2, i32, i32, 1, i32}, // 2: (i32, i32) → i32
	))
	m = section(m, 3, vec([]byte{0}, []byte{0}, []byte{1}, []byte{2}))
	m = section(m, 5, vec([]byte{0x00, 0x01})) // min 1 page, no max
	m = section(m, 7, vec(
		export(abi.ExportMemory, 0x02, 0),
		export(abi.ExportVersion, 0x00, 0),
		export(abi.ExportFeatures, 0x00, 1),
		export(abi.ExportAlloc, 0x00, 2),
		export(abi.ExportSample, 0x00, 3),
	))
	m = section(m, 10, vec(
		body([]byte{0}, append([]byte{0x41}, sleb32(abi.Version)...)...),
		body([]byte{0}, features32...),
		body([]byte{1, 1, i32}, alloc...),
		body([]byte{0}, 0x41, 0x00),
	))
	return m
}

func uleb(v uint32) []byte { return binary.AppendUvarint(nil, uint64(v)) }

// sleb32 is v in signed LEB128, as i32.const takes it.
func sleb32(v int32) []byte {
	var b []byte
	for {
		c := byte(v & 0x7f)
		v >>= 7
		if v == 0 && c&0x40 == 0 || v == -1 && c&0x40 != 0 {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

func vec(items ...[]byte) []byte {
	b := uleb(uint32(len(items)))
	for _, it := range items {
		b = append(b, it...)
	}
	return b
}

func section(m []byte, id byte, content []byte) []byte {
	m = append(m, id)
	m = append(m, uleb(uint32(len(content)))...)
	return append(m, content...)
}

func export(name string, kind byte, index uint32) []byte {
	b := append(uleb(uint32(len(name))), name...)
	b = append(b, kind)
	return append(b, uleb(index)...)
}
