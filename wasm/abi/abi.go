// Package abi holds the constants of tracelake's sampling plugin ABI,
// version 1: names, sizes and offsets of the batch layout the host writes
// into a plugin's memory and the edit records a plugin hands back.
// wasm/FORMAT.md is the specification; this package is it in Go.
//
// It must import nothing: the host and plugins compiled to WebAssembly
// (the Go SDK) both use it, and neither may drag the other's dependencies
// along.
package abi

// Version is the ABI version this package describes.
const Version = 1

// Names of the plugin's exports and the host's imports.
const (
	ExportMemory     = "memory"
	ExportVersion    = "tracelake_abi_version"
	ExportAlloc      = "tracelake_alloc"
	ExportSample     = "tracelake_sample"
	ExportInit       = "tracelake_init"
	ExportFeatures   = "tracelake_features"
	ExportInitialize = "_initialize"

	ImportModule   = "tracelake"
	ImportError    = "error"
	ImportSetEdits = "set_edits"
	ImportLog      = "log"
)

// Feature bits a plugin returns from tracelake_features, and the header's
// contents bits.
const (
	FeatureSpanAttributes     = 1 << 0
	FeatureResourceAttributes = 1 << 1
	FeaturesAll               = FeatureSpanAttributes | FeatureResourceAttributes
)

// Magic is the batch header's first u32: the bytes "TLB1".
const Magic = 0x31424C54

// Header layout.
const (
	HeaderSize = 64

	HdrMagic          = 0
	HdrVersion        = 4
	HdrSpanCount      = 8
	HdrResourceCount  = 12
	HdrAttrCount      = 16
	HdrSpansOffset    = 20
	HdrResourceOffset = 24
	HdrAttrsOffset    = 28
	HdrBytesOffset    = 32
	HdrBytesLen       = 36
	HdrDecisions      = 40
	HdrContents       = 44
	HdrNow            = 48
)

// Span record layout.
const (
	SpanSize = 88

	SpanTraceID       = 0
	SpanSpanID        = 16
	SpanParentID      = 24
	SpanStart         = 32
	SpanDuration      = 40
	SpanNameOff       = 48
	SpanNameLen       = 52
	SpanTraceStateOff = 56
	SpanTraceStateLen = 60
	SpanResource      = 64
	SpanKind          = 68
	SpanStatus        = 69
	SpanAttrsFirst    = 72
	SpanAttrsCount    = 76
	SpanEventCount    = 80
	SpanFlags         = 84
)

// Resource record layout.
const (
	ResourceSize = 16

	ResServiceOff = 0
	ResServiceLen = 4
	ResAttrsFirst = 8
	ResAttrsCount = 12
)

// Attribute record layout.
const (
	AttrSize = 24

	AttrKeyOff = 0
	AttrKeyLen = 4
	AttrType   = 8
	AttrLen    = 12
	AttrValue  = 16
)

// Attribute value types (also the kv encoding's tags).
const (
	TypeEmpty  = 0
	TypeString = 1
	TypeBool   = 2
	TypeInt    = 3
	TypeDouble = 4
	TypeBytes  = 5
	TypeArray  = 6
	TypeMap    = 7
)

// Decisions.
const (
	Keep = 0
	Drop = 1
)

// Edit record layout and operations.
const (
	EditSize = 24

	EditSpan     = 0
	EditOp       = 4
	EditKeyPtr   = 8
	EditKeyLen   = 12
	EditValuePtr = 16
	EditValueLen = 20

	OpDeleteAttr    = 1
	OpSetAttr       = 2
	OpSetTraceState = 3
)

// Log levels of the log import.
const (
	LogDebug = 0
	LogInfo  = 1
	LogWarn  = 2
	LogError = 3
)

// Align8 rounds n up to a multiple of 8: every batch section starts
// 8-byte aligned.
func Align8(n uint32) uint32 { return (n + 7) &^ 7 }
