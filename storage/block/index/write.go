package index

import (
	"fmt"
	"io"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// writeArrow writes b's traces as one record batch of an Arrow IPC file.
// The Arrow arrays are views of b's slices: nothing is copied before the
// IPC writer compresses each buffer.
func writeArrow(w io.Writer, b *Builder) error {
	services, serviceID := b.services.sorted()
	names, nameID := b.names.sorted()
	for _, dict := range [][]string{services, names} {
		size := 0
		for _, s := range dict {
			size += len(s)
		}
		if size > math.MaxInt32 { // Arrow's utf8 type has int32 offsets
			return fmt.Errorf("dictionary of %d strings holds %d bytes, more than a utf8 array can", len(dict), size)
		}
	}
	t, g := &b.traces, &b.groups
	n, ng := len(t.ids), len(g.service)
	groupOff := t.groupOff
	if len(groupOff) == 0 { // a zero Builder
		groupOff = []int32{0}
	}

	groupFields := []arrow.ArrayData{
		dictData(renumber(g.service, serviceID), services),
		dictData(renumber(g.name, nameID), names),
		fixedData(arrow.PrimitiveTypes.Int32, ng, arrow.Int32Traits.CastToBytes(g.kind)),
		fixedData(arrow.PrimitiveTypes.Int32, ng, arrow.Int32Traits.CastToBytes(g.spans)),
		fixedData(arrow.PrimitiveTypes.Int32, ng, arrow.Int32Traits.CastToBytes(g.errors)),
		fixedData(durationType, ng, arrow.Int64Traits.CastToBytes(g.minDur)),
		fixedData(durationType, ng, arrow.Int64Traits.CastToBytes(g.maxDur)),
		fixedData(timestampType, ng, arrow.Int64Traits.CastToBytes(g.minStart)),
		fixedData(timestampType, ng, arrow.Int64Traits.CastToBytes(g.maxStart)),
	}
	groups := array.NewData(groupType, ng, []*memory.Buffer{nil}, groupFields, 0, 0)
	list := array.NewData(groupListType, n,
		[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(groupOff))},
		[]arrow.ArrayData{groups}, 0, 0)
	data := []arrow.ArrayData{
		fixedData(traceIDType, n, t.idBytes()),
		fixedData(arrow.PrimitiveTypes.Int64, n, arrow.Int64Traits.CastToBytes(t.first)),
		fixedData(arrow.PrimitiveTypes.Int32, n, arrow.Int32Traits.CastToBytes(t.spans)),
		fixedData(arrow.PrimitiveTypes.Int32, n, arrow.Int32Traits.CastToBytes(t.errors)),
		fixedData(timestampType, n, arrow.Int64Traits.CastToBytes(t.start)),
		fixedData(timestampType, n, arrow.Int64Traits.CastToBytes(t.end)),
		fixedData(arrow.PrimitiveTypes.Int32, n, arrow.Int32Traits.CastToBytes(t.rootGroup)),
		list,
	}
	cols := make([]arrow.Array, len(data))
	for i, d := range data {
		cols[i] = array.MakeFromData(d)
		defer cols[i].Release()
	}
	schema := newSchema()
	rec := array.NewRecordBatch(schema, cols, int64(n))
	defer rec.Release()

	fw, err := ipc.NewFileWriter(w, ipc.WithSchema(schema), ipc.WithZstd())
	if err != nil {
		return err
	}
	if err := fw.Write(rec); err != nil {
		_ = fw.Close()
		return err
	}
	return fw.Close()
}

func fixedData(typ arrow.DataType, n int, values []byte) *array.Data {
	return array.NewData(typ, n, []*memory.Buffer{nil, memory.NewBufferBytes(values)}, nil, 0, 0)
}

// dictData is a dictionary-encoded string column: indices into dict.
func dictData(indices []int32, dict []string) *array.Data {
	offsets := make([]int32, 1, len(dict)+1)
	size := 0
	for _, s := range dict {
		size += len(s)
	}
	values := make([]byte, 0, size)
	for _, s := range dict {
		values = append(values, s...)
		offsets = append(offsets, int32(len(values)))
	}
	dictionary := array.NewData(arrow.BinaryTypes.String, len(dict), []*memory.Buffer{
		nil,
		memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offsets)),
		memory.NewBufferBytes(values),
	}, nil, 0, 0)
	defer dictionary.Release()
	return array.NewDataWithDictionary(stringDict, len(indices), []*memory.Buffer{
		nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(indices)),
	}, 0, 0, dictionary)
}

func renumber(ids, newID []int32) []int32 {
	out := make([]int32, len(ids))
	for i, id := range ids {
		out[i] = newID[id]
	}
	return out
}
