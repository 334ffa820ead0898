package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// arrow-go's IPC reader trusts the lengths in a file's flatbuffers: a
// vector length of 2³²−1 in the schema makes it allocate hundreds of
// gigabytes, which kills the process rather than panicking, and a
// compressed buffer's claimed size is allocated before it is
// decompressed. preflight walks the flatbuffers arrow-go will read with
// every offset and length bounds-checked, and refuses what could make
// arrow-go allocate unboundedly or recurse without end; budgetAllocator
// caps what decompression may allocate. What is left are reads that panic
// out of range, and ReadIndex recovers those.

var arrowMagic = []byte("ARROW1")

// Flatbuffer field slots (Arrow's File.fbs, Schema.fbs, Message.fbs).
const (
	footerSchema, footerDictionaries, footerRecordBatches, footerCustomMetadata = 1, 2, 3, 4
	schemaFields, schemaCustomMetadata, schemaFeatures                          = 1, 2, 3
	fieldName, fieldTypeType, fieldTypeTable, fieldDictionary, fieldChildren    = 0, 2, 3, 4, 5
	fieldCustomMetadata                                                         = 6
	dictEncodingIndexType                                                       = 1
	timestampTimezone                                                           = 1
	messageHeaderType, messageHeader, messageCustomMetadata                     = 1, 2, 4
	recordBatchNodes, recordBatchBuffers, recordBatchCompression                = 1, 2, 3
	recordBatchVariadicCounts                                                   = 4
	dictionaryBatchData                                                         = 1
	keyValueKey, keyValueValue                                                  = 0, 1
)

// Arrow type union tags that the format uses; any other type is refused
// before arrow-go sees it (views and unions have allocation paths driven
// by the file).
var allowedTypes = map[uint8]string{
	2: "Int", 5: "Utf8", 10: "Timestamp", 12: "List", 13: "Struct", 15: "FixedSizeBinary", 18: "Duration",
}

const (
	messageDictionaryBatch = 2
	messageRecordBatch     = 3
	maxFieldDepth          = 8 // the format nests three deep
)

func preflight(data []byte) error {
	// "ARROW1", padding to 8, messages, footer, int32 footer size, "ARROW1".
	if len(data) < 8+4+len(arrowMagic) || !bytes.HasPrefix(data, arrowMagic) || !bytes.HasSuffix(data, arrowMagic) {
		return errors.New("not an Arrow IPC file")
	}
	end := len(data) - len(arrowMagic) - 4
	size := int64(int32(binary.LittleEndian.Uint32(data[end:])))
	if size <= 0 || size > int64(end-8) {
		return fmt.Errorf("malformed Arrow IPC file: footer size %d", size)
	}
	footerStart := end - int(size)
	footer, err := rootTable(data[footerStart:end])
	if err != nil {
		return fmt.Errorf("malformed Arrow IPC footer: %w", err)
	}
	schema, ok, err := footer.table(footerSchema)
	if err != nil || !ok {
		return fmt.Errorf("malformed Arrow IPC footer: no schema (%v)", err)
	}
	// The format check comes first, so that a file of another format or
	// version is refused for that reason and not for its contents.
	format, version, err := formatOf(schema)
	if err != nil {
		return fmt.Errorf("malformed Arrow IPC schema: %w", err)
	}
	if err := checkFormatValues(format, version); err != nil {
		return err
	}
	if err := checkSchema(schema); err != nil {
		return fmt.Errorf("malformed Arrow IPC schema: %w", err)
	}
	if err := checkKeyValues(footer, footerCustomMetadata); err != nil {
		return fmt.Errorf("malformed Arrow IPC footer: %w", err)
	}
	for _, slot := range []int{footerDictionaries, footerRecordBatches} {
		start, n, err := footer.vector(slot, 24) // struct Block { offset: long; metaDataLength: int; bodyLength: long }
		if err != nil {
			return fmt.Errorf("malformed Arrow IPC footer: %w", err)
		}
		b := footer.buf
		for i := range n {
			p := start + 24*i
			off := int64(binary.LittleEndian.Uint64(b[p:]))
			meta := int64(int32(binary.LittleEndian.Uint32(b[p+8:])))
			body := int64(binary.LittleEndian.Uint64(b[p+16:]))
			if off < 8 || meta <= 0 || body < 0 || off > int64(footerStart) || meta > int64(footerStart)-off || body > int64(footerStart)-off-meta {
				return fmt.Errorf("malformed Arrow IPC footer: block %d lies outside the file", i)
			}
			if err := checkMessage(data[off : off+meta]); err != nil {
				return fmt.Errorf("malformed Arrow IPC message at offset %d: %w", off, err)
			}
		}
	}
	return nil
}

// formatOf reads the index format's keys from the schema's metadata.
func formatOf(schema fbTable) (format, version string, err error) {
	start, n, err := schema.vector(schemaCustomMetadata, 4)
	if err != nil {
		return "", "", err
	}
	for i := range n {
		kv, err := schema.buf.tableAt(schema.buf.ref(start + 4*i))
		if err != nil {
			return "", "", err
		}
		k, err := kv.str(keyValueKey)
		if err != nil {
			return "", "", err
		}
		v, err := kv.str(keyValueValue)
		if err != nil {
			return "", "", err
		}
		switch string(k) {
		case metaFormat:
			format = string(v)
		case metaVersion:
			version = string(v)
		}
	}
	return format, version, nil
}

func checkSchema(schema fbTable) error {
	if _, _, err := schema.vector(schemaFeatures, 8); err != nil {
		return err
	}
	if err := checkKeyValues(schema, schemaCustomMetadata); err != nil {
		return err
	}
	return checkFields(schema, schemaFields, 0)
}

func checkFields(parent fbTable, slot, depth int) error {
	if depth > maxFieldDepth {
		return errors.New("fields nest too deep")
	}
	start, n, err := parent.vector(slot, 4)
	if err != nil {
		return err
	}
	for i := range n {
		f, err := parent.buf.tableAt(parent.buf.ref(start + 4*i))
		if err != nil {
			return err
		}
		name, err := f.str(fieldName)
		if err != nil {
			return err
		}
		tag, err := f.u8(fieldTypeType)
		if err != nil {
			return err
		}
		if _, ok := allowedTypes[tag]; !ok {
			return fmt.Errorf("field %q has an Arrow type (union tag %d) the index format does not use", name, tag)
		}
		typ, ok, err := f.table(fieldTypeTable)
		if err != nil || !ok {
			return fmt.Errorf("field %q: no type (%v)", name, err)
		}
		if tag == 10 {
			if _, err := typ.str(timestampTimezone); err != nil {
				return err
			}
		}
		dict, ok, err := f.table(fieldDictionary)
		if err != nil {
			return err
		}
		if ok {
			if _, _, err := dict.table(dictEncodingIndexType); err != nil {
				return err
			}
		}
		if err := checkKeyValues(f, fieldCustomMetadata); err != nil {
			return err
		}
		if err := checkFields(f, fieldChildren, depth+1); err != nil {
			return err
		}
	}
	return nil
}

func checkKeyValues(t fbTable, slot int) error {
	start, n, err := t.vector(slot, 4)
	if err != nil {
		return err
	}
	for i := range n {
		kv, err := t.buf.tableAt(t.buf.ref(start + 4*i))
		if err != nil {
			return err
		}
		if _, err := kv.str(keyValueKey); err != nil {
			return err
		}
		if _, err := kv.str(keyValueValue); err != nil {
			return err
		}
	}
	return nil
}

// checkMessage checks an encapsulated message's metadata: an optional
// 0xFFFFFFFF continuation, an int32 length, the Message flatbuffer.
func checkMessage(b []byte) error {
	if len(b) >= 4 && binary.LittleEndian.Uint32(b) == 0xFFFFFFFF {
		b = b[4:]
	}
	if len(b) < 4 {
		return errors.New("truncated")
	}
	n := int(int32(binary.LittleEndian.Uint32(b)))
	if n <= 0 || n > len(b)-4 {
		return fmt.Errorf("metadata length %d", n)
	}
	msg, err := rootTable(b[4 : 4+n])
	if err != nil {
		return err
	}
	if err := checkKeyValues(msg, messageCustomMetadata); err != nil {
		return err
	}
	kind, err := msg.u8(messageHeaderType)
	if err != nil {
		return err
	}
	header, ok, err := msg.table(messageHeader)
	if err != nil || !ok {
		return fmt.Errorf("no header (%v)", err)
	}
	switch kind {
	case messageRecordBatch:
	case messageDictionaryBatch:
		if header, ok, err = header.table(dictionaryBatchData); err != nil || !ok {
			return fmt.Errorf("dictionary batch without data (%v)", err)
		}
	default:
		return fmt.Errorf("message type %d in a file block", kind)
	}
	for _, v := range []struct{ slot, size int }{
		{recordBatchNodes, 16}, {recordBatchBuffers, 16}, {recordBatchVariadicCounts, 8},
	} {
		if _, _, err := header.vector(v.slot, v.size); err != nil {
			return err
		}
	}
	_, _, err = header.table(recordBatchCompression)
	return err
}

// fbBuf is a flatbuffer with bounds-checked reads. Positions are ints; a
// failed read yields -1, which every later read refuses.
type fbBuf []byte

type fbTable struct {
	buf    fbBuf
	pos    int
	vtable int
	vsize  int
}

var errFlatbuffer = errors.New("flatbuffer offset out of range")

func (b fbBuf) u32(p int) (uint32, bool) {
	if p < 0 || p > len(b)-4 {
		return 0, false
	}
	return binary.LittleEndian.Uint32(b[p:]), true
}

func (b fbBuf) u16(p int) (int, bool) {
	if p < 0 || p > len(b)-2 {
		return 0, false
	}
	return int(binary.LittleEndian.Uint16(b[p:])), true
}

// ref follows the uoffset at p, or returns -1.
func (b fbBuf) ref(p int) int {
	u, ok := b.u32(p)
	if !ok || int64(u) > int64(len(b)-p) {
		return -1
	}
	return p + int(u)
}

func rootTable(b []byte) (fbTable, error) {
	return fbBuf(b).tableAt(fbBuf(b).ref(0))
}

func (b fbBuf) tableAt(p int) (fbTable, error) {
	so, ok := b.u32(p)
	if !ok {
		return fbTable{}, errFlatbuffer
	}
	vt := int64(p) - int64(int32(so))
	if vt < 0 || vt > int64(len(b)) {
		return fbTable{}, errFlatbuffer
	}
	vsize, ok := b.u16(int(vt))
	if !ok || vsize < 4 || vsize%2 != 0 || vsize > len(b)-int(vt) {
		return fbTable{}, errFlatbuffer
	}
	osize, ok := b.u16(int(vt) + 2)
	if !ok || osize > len(b)-p {
		return fbTable{}, errFlatbuffer
	}
	return fbTable{buf: b, pos: p, vtable: int(vt), vsize: vsize}, nil
}

// field is the position of slot's value, or -1 when it is absent.
func (t fbTable) field(slot int) int {
	o := 4 + 2*slot
	if o+2 > t.vsize {
		return -1
	}
	off, _ := t.buf.u16(t.vtable + o)
	if off == 0 {
		return -1
	}
	return t.pos + off
}

func (t fbTable) u8(slot int) (uint8, error) {
	p := t.field(slot)
	if p < 0 {
		return 0, nil
	}
	if p >= len(t.buf) {
		return 0, errFlatbuffer
	}
	return t.buf[p], nil
}

// table is the table in slot; ok is false when the slot is absent.
func (t fbTable) table(slot int) (fbTable, bool, error) {
	p := t.field(slot)
	if p < 0 {
		return fbTable{}, false, nil
	}
	tt, err := t.buf.tableAt(t.buf.ref(p))
	return tt, err == nil, err
}

// vector is the vector in slot: where its elements start and how many
// there are, each elemSize bytes; an absent vector is empty.
func (t fbTable) vector(slot, elemSize int) (start, n int, err error) {
	p := t.field(slot)
	if p < 0 {
		return 0, 0, nil
	}
	v := t.buf.ref(p)
	u, ok := t.buf.u32(v)
	if !ok || int64(u) > int64(len(t.buf)-v-4)/int64(elemSize) || u > math.MaxInt32 {
		return 0, 0, errFlatbuffer
	}
	return v + 4, int(u), nil
}

func (t fbTable) str(slot int) ([]byte, error) {
	start, n, err := t.vector(slot, 1)
	if err != nil {
		return nil, err
	}
	return t.buf[start : start+n], nil
}

// budgetAllocator is the allocator ReadIndex gives arrow-go: it refuses,
// by panicking, to hand out more than a budget in total, so that a
// compressed buffer claiming a huge decompressed size fails instead of
// allocating it. The budget is far above what a real index decompresses
// to (its trace IDs alone are incompressible). Not safe for concurrent
// use; one ReadIndex call owns it.
type budgetAllocator struct {
	mem  memory.Allocator
	left int
}

var errBudget = errors.New("the file claims more decompressed data than an index of its size can hold")

func newBudgetAllocator(size int) *budgetAllocator {
	const base, ratio = 64 << 20, 1024
	left := math.MaxInt / 2
	if size < (left-base)/ratio {
		left = base + ratio*size
	}
	return &budgetAllocator{mem: memory.DefaultAllocator, left: left}
}

func (a *budgetAllocator) take(n int) {
	if n < 0 || n > a.left {
		panic(errBudget)
	}
	a.left -= n
}

func (a *budgetAllocator) Allocate(size int) []byte {
	a.take(size)
	return a.mem.Allocate(size)
}

func (a *budgetAllocator) Reallocate(size int, b []byte) []byte {
	if size > len(b) {
		a.take(size - len(b))
	}
	return a.mem.Reallocate(size, b)
}

func (a *budgetAllocator) Free(b []byte) { a.mem.Free(b) }
