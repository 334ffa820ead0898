package tracestore

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/tracelake/tracelake/storage/tenant"
)

// Object keys of ingest files (FORMAT.md in this folder documents them):
//
//	<tenant>/ingest/<YYYY-MM-DDTHH>/<ULID>_<startMinMs>_<endMaxMs>.parquet
//
// The hour partition is the write time (the ULID's time), so a listing for
// a time window can start at the hour the window begins and skip older
// files. The key also carries the span time range the file covers, in
// milliseconds rounded outwards, so a query prunes files without opening
// them.

const (
	ingestDir  = "ingest"
	hourLayout = "2006-01-02T15"
	fileSuffix = ".parquet"
)

// FileRef names one span file and what its key says about it.
type FileRef struct {
	Key     string
	Tenant  string
	ID      ulid.ULID
	Written time.Time // from the ULID
	// StartMin and EndMax bound the spans in the file, in Unix ns, at
	// millisecond precision rounded outwards.
	StartMin, EndMax int64
	Size             int64 // 0 when not known from a listing
}

func ingestPrefix(tenantID string) string { return tenantID + "/" + ingestDir + "/" }

func hourPrefix(tenantID string, t time.Time) string {
	return ingestPrefix(tenantID) + t.UTC().Format(hourLayout)
}

// fileKey builds the key of a new file.
func fileKey(tenantID string, id ulid.ULID, startMin, endMax int64) string {
	written := ulid.Time(id.Time())
	return fmt.Sprintf("%s/%s_%d_%d%s", hourPrefix(tenantID, written), id, floorMs(startMin), ceilMs(endMax), fileSuffix)
}

func floorMs(ns int64) int64 {
	ms := ns / 1e6
	if ns < 0 && ns%1e6 != 0 {
		ms--
	}
	return ms
}

func ceilMs(ns int64) int64 {
	ms := ns / 1e6
	if ns > 0 && ns%1e6 != 0 {
		ms++
	}
	return ms
}

// ParseKey parses the key of an ingest file.
func ParseKey(key string) (FileRef, error) {
	bad := func(why string) (FileRef, error) {
		return FileRef{}, fmt.Errorf("key %q is not an ingest span file: %s", key, why)
	}
	parts := strings.Split(key, "/")
	if len(parts) != 4 || parts[1] != ingestDir {
		return bad("want <tenant>/ingest/<hour>/<file>")
	}
	if err := tenant.Validate(parts[0]); err != nil {
		return bad(err.Error())
	}
	name, ok := strings.CutSuffix(parts[3], fileSuffix)
	if !ok {
		return bad("no " + fileSuffix + " suffix")
	}
	fields := strings.Split(name, "_")
	if len(fields) != 3 {
		return bad("want <ULID>_<startMs>_<endMs>")
	}
	id, err := ulid.ParseStrict(fields[0])
	if err != nil {
		return bad("ULID: " + err.Error())
	}
	startMs, err1 := strconv.ParseInt(fields[1], 10, 64)
	endMs, err2 := strconv.ParseInt(fields[2], 10, 64)
	if err1 != nil || err2 != nil {
		return bad("time range is not two integers")
	}
	ref := FileRef{
		Key:      key,
		Tenant:   parts[0],
		ID:       id,
		Written:  ulid.Time(id.Time()).UTC(),
		StartMin: startMs * 1e6,
		EndMax:   endMs * 1e6,
	}
	if parts[2] != ref.Written.Format(hourLayout) {
		return bad("hour partition does not match the ULID's time")
	}
	return ref, nil
}

// Overlaps reports whether the file can hold spans in [start, end) (Unix
// ns; zero leaves a side open).
func (r FileRef) Overlaps(start, end int64) bool {
	if end != 0 && r.StartMin >= end {
		return false
	}
	if start != 0 && r.EndMax < start {
		return false
	}
	return true
}
