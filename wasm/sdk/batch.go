package sdk

import (
	"strconv"
	"unsafe"

	"github.com/tracelake/tracelake/wasm/abi"
)

// Decision is what a plugin answers for one span.
type Decision uint8

const (
	// Keep keeps the span (with the plugin's edits applied).
	Keep Decision = abi.Keep
	// Drop drops the span.
	Drop Decision = abi.Drop
)

// String returns "keep", "drop" or the number of an invalid decision.
func (d Decision) String() string {
	switch d {
	case Keep:
		return "keep"
	case Drop:
		return "drop"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Batch is a view over one batch the host wrote into the plugin's memory
// (wasm/FORMAT.md, "The batch"). Nothing is copied: a Batch, its Spans and
// every string and Value read from them point into that memory and are
// valid only until the handler returns. Copy what must outlive the call
// (strings.Clone, bytes.Clone).
//
// The SDK reuses one Batch for every call: plugins must not keep the
// pointer.
type Batch struct {
	spans     unsafe.Pointer
	n         int // span count
	resources []byte
	attrs     []byte
	attrsPtr  unsafe.Pointer
	bytes     []byte
	bytesPtr  unsafe.Pointer
	decisions []byte
	contents  uint32
	now       int64

	edits edits

	// fault is the first malformed reference an accessor met; it fails
	// the batch once the handler returns.
	fault string
	// missing holds the Feature bits an accessor needed but the batch
	// lacked: reading attributes the host did not write fails the batch
	// rather than silently reading none.
	missing Feature
}

// sdkError is an error the SDK reports to the host: a batch it cannot
// read, a configuration it cannot take.
type sdkError string

func (e sdkError) Error() string { return "sdk: " + string(e) }

// reset points b at buf after checking the header: magic, version, and
// that every section lies inside buf. Per-span references (names, trace
// states, resources, attributes) are checked lazily by the accessors, so
// a plugin that reads little pays little.
func (b *Batch) reset(buf []byte) error {
	*b = Batch{edits: b.edits}
	b.edits.reset()
	if len(buf) < abi.HeaderSize {
		return sdkError("batch of " + strconv.Itoa(len(buf)) + " bytes is shorter than its " +
			strconv.Itoa(abi.HeaderSize) + "-byte header")
	}
	if m := le32(buf[abi.HdrMagic:]); m != abi.Magic {
		return sdkError("batch magic is 0x" + strconv.FormatUint(uint64(m), 16) +
			", not 0x" + strconv.FormatUint(abi.Magic, 16) + " (TLB1): not a tracelake batch")
	}
	if v := le32(buf[abi.HdrVersion:]); v != abi.Version {
		return sdkError("batch is ABI version " + strconv.FormatUint(uint64(v), 10) +
			"; this SDK reads version " + strconv.Itoa(abi.Version))
	}
	n := uint64(le32(buf[abi.HdrSpanCount:]))
	spans, err := section(buf, "span", abi.HdrSpansOffset, n*abi.SpanSize)
	if err != nil {
		return err
	}
	r := uint64(le32(buf[abi.HdrResourceCount:]))
	if b.resources, err = section(buf, "resource", abi.HdrResourceOffset, r*abi.ResourceSize); err != nil {
		return err
	}
	a := uint64(le32(buf[abi.HdrAttrCount:]))
	if b.attrs, err = section(buf, "attribute", abi.HdrAttrsOffset, a*abi.AttrSize); err != nil {
		return err
	}
	if b.bytes, err = section(buf, "byte", abi.HdrBytesOffset, uint64(le32(buf[abi.HdrBytesLen:]))); err != nil {
		return err
	}
	if b.decisions, err = section(buf, "decision", abi.HdrDecisions, n); err != nil {
		return err
	}
	b.n = int(n)
	b.spans = unsafe.Pointer(unsafe.SliceData(spans))
	b.bytesPtr = unsafe.Pointer(unsafe.SliceData(b.bytes))
	b.attrsPtr = unsafe.Pointer(unsafe.SliceData(b.attrs))
	b.contents = le32(buf[abi.HdrContents:])
	b.now = int64(le64(buf[abi.HdrNow:]))
	return nil
}

// section returns the size bytes of buf at the offset stored in the
// header at hdr.
func section(buf []byte, name string, hdr int, size uint64) ([]byte, error) {
	off := uint64(le32(buf[hdr:]))
	if off+size > uint64(len(buf)) {
		return nil, sdkError("malformed batch: the " + name + " section (" + strconv.FormatUint(size, 10) +
			" bytes at " + strconv.FormatUint(off, 10) + ") overruns the " + strconv.Itoa(len(buf)) + "-byte batch")
	}
	return buf[off : off+size], nil
}

// Len is the number of spans in the batch.
func (b *Batch) Len() int { return b.n }

// ResourceCount is the number of resources in the batch: the bound of
// Span.ResourceIndex.
func (b *Batch) ResourceCount() int { return len(b.resources) / abi.ResourceSize }

// Span returns the i-th span. It panics if i is out of range.
func (b *Batch) Span(i int) Span {
	if uint(i) >= uint(b.n) {
		panic("sdk: span index " + strconv.Itoa(i) + " out of range [0," + strconv.Itoa(b.n) + ")")
	}
	return b.span(i)
}

func (b *Batch) span(i int) Span {
	return Span{b: b, rec: (*[abi.SpanSize]byte)(unsafe.Add(b.spans, i*abi.SpanSize)), i: i}
}

// Decide records the decision for the i-th span. Spans a HandleBatch
// handler does not decide are kept. It panics if i is out of range.
func (b *Batch) Decide(i int, d Decision) { b.decisions[i] = byte(d) }

// Decision is the decision recorded for the i-th span so far.
func (b *Batch) Decision(i int) Decision { return Decision(b.decisions[i]) }

// NowUnixNano is the host's wall clock when it made the batch, in Unix
// nanoseconds: the only clock a plugin has (the WASI clock is not the
// host's).
func (b *Batch) NowUnixNano() int64 { return b.now }

// Has reports whether the batch carries what f names: the host writes
// only the attributes the plugin declared with Features.
func (b *Batch) Has(f Feature) bool { return Feature(b.contents)&f == f }

// str is the string at off, n in the byte area, or "" and a fault when
// that lies outside it.
func (b *Batch) str(off, n uint32, what string) string {
	if uint64(off)+uint64(n) > uint64(len(b.bytes)) {
		b.faulted(what)
		return ""
	}
	return unsafe.String((*byte)(unsafe.Add(b.bytesPtr, off)), n)
}

func (b *Batch) faulted(what string) {
	if b.fault == "" {
		b.fault = what
	}
}

// check is the batch's verdict once the handler has returned.
func (b *Batch) check(declared Feature) error {
	if b.fault != "" {
		return sdkError("malformed batch: " + b.fault)
	}
	if b.missing != 0 {
		what := "span attributes"
		name := "sdk.SpanAttributes"
		if b.missing&SpanAttributes == 0 {
			what, name = "resource attributes", "sdk.ResourceAttributes"
		}
		if declared&b.missing != b.missing {
			return sdkError("the plugin read " + what + " without declaring them: call sdk.Features(" + name +
				") in init so the host writes them")
		}
		return sdkError("the plugin declared " + name + " but the host wrote a batch without " + what)
	}
	return nil
}
