package index

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Schema metadata identifying an index file; see FORMAT.md.
const (
	metaFormat    = "tracelake.index.format"
	metaVersion   = "tracelake.index.version"
	formatName    = "tlidx"
	formatVersion = "1"
)

// Column names, top level (one row per trace).
const (
	colTraceID   = "trace_id"
	colFirstRow  = "first_row"
	colSpans     = "spans"
	colErrors    = "errors"
	colStart     = "start"
	colEnd       = "end"
	colRootGroup = "root_group"
	colGroups    = "groups"
)

// Field names of the groups list's struct (one element per group).
const (
	grpService     = "service"
	grpName        = "name"
	grpKind        = "kind"
	grpSpans       = "spans"
	grpErrors      = "errors"
	grpMinDuration = "min_duration"
	grpMaxDuration = "max_duration"
	grpMinStart    = "min_start"
	grpMaxStart    = "max_start"
)

var (
	traceIDType   = &arrow.FixedSizeBinaryType{ByteWidth: 16}
	timestampType = &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "UTC"}
	durationType  = &arrow.DurationType{Unit: arrow.Nanosecond}
	stringDict    = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}

	groupType = arrow.StructOf(
		arrow.Field{Name: grpService, Type: stringDict},
		arrow.Field{Name: grpName, Type: stringDict},
		arrow.Field{Name: grpKind, Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: grpSpans, Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: grpErrors, Type: arrow.PrimitiveTypes.Int32},
		arrow.Field{Name: grpMinDuration, Type: durationType},
		arrow.Field{Name: grpMaxDuration, Type: durationType},
		arrow.Field{Name: grpMinStart, Type: timestampType},
		arrow.Field{Name: grpMaxStart, Type: timestampType},
	)
	groupListType = arrow.ListOfNonNullable(groupType)
)

// newSchema is the schema WriteIndex writes.
func newSchema() *arrow.Schema {
	md := arrow.NewMetadata([]string{metaFormat, metaVersion}, []string{formatName, formatVersion})
	return arrow.NewSchema([]arrow.Field{
		{Name: colTraceID, Type: traceIDType},
		{Name: colFirstRow, Type: arrow.PrimitiveTypes.Int64},
		{Name: colSpans, Type: arrow.PrimitiveTypes.Int32},
		{Name: colErrors, Type: arrow.PrimitiveTypes.Int32},
		{Name: colStart, Type: timestampType},
		{Name: colEnd, Type: timestampType},
		{Name: colRootGroup, Type: arrow.PrimitiveTypes.Int32},
		{Name: colGroups, Type: groupListType},
	}, &md)
}

// checkFormat refuses a file that is not a tlidx file of a version this
// package reads.
func checkFormat(s *arrow.Schema) error {
	md := s.Metadata()
	format, version := "", ""
	if i := md.FindKey(metaFormat); i >= 0 {
		format = md.Values()[i]
	}
	if i := md.FindKey(metaVersion); i >= 0 {
		version = md.Values()[i]
	}
	return checkFormatValues(format, version)
}

func checkFormatValues(format, version string) error {
	switch {
	case format != formatName:
		return fmt.Errorf("not a trace index: schema metadata %s is %q, want %q", metaFormat, format, formatName)
	case version != formatVersion:
		return fmt.Errorf("trace index version %q is not supported (this reader knows version %s)", version, formatVersion)
	}
	return nil
}

// fieldType finds the one field called name in fields and checks its type
// against want. Types are compared ignoring field nullability and the
// name of a list's element, which other writers spell differently; nulls
// are refused when the data is read.
func fieldType(fields []arrow.Field, name string, want arrow.DataType) (int, error) {
	idx := -1
	for i, f := range fields {
		if f.Name != name {
			continue
		}
		if idx >= 0 {
			return 0, fmt.Errorf("column %q appears twice", name)
		}
		idx = i
	}
	if idx < 0 {
		return 0, fmt.Errorf("column %q is missing", name)
	}
	if got := fields[idx].Type; !sameType(got, want) {
		return 0, fmt.Errorf("column %q has type %s, want %s", name, got, want)
	}
	return idx, nil
}

func sameType(got, want arrow.DataType) bool {
	switch w := want.(type) {
	case *arrow.ListType:
		g, ok := got.(*arrow.ListType)
		return ok && sameType(g.Elem(), w.Elem())
	case *arrow.StructType:
		g, ok := got.(*arrow.StructType)
		if !ok {
			return false
		}
		for _, wf := range w.Fields() {
			i, ok := g.FieldIdx(wf.Name)
			if !ok || !sameType(g.Field(i).Type, wf.Type) {
				return false
			}
		}
		return true
	case *arrow.TimestampType:
		// Any time zone: Arrow stores instants as UTC whatever the zone.
		g, ok := got.(*arrow.TimestampType)
		return ok && g.Unit == w.Unit
	case *arrow.DictionaryType:
		g, ok := got.(*arrow.DictionaryType)
		return ok && arrow.TypeEqual(g.IndexType, w.IndexType) && arrow.TypeEqual(g.ValueType, w.ValueType)
	}
	return arrow.TypeEqual(got, want)
}
