// Package fs stores objects as files under a local directory: the embedded
// default, so that tracelake runs on a laptop with no object store at all.
//
// An object with key "a/b/c" is the file <root>/a/b/c. Writes go to a
// temporary file under <root>/.tmp~, are fsynced and renamed into place, and
// the directories involved are fsynced, so an acknowledged object survives a
// crash or power loss and a reader never sees part of one. Listing walks the
// tree in S3's byte order, not the order of file names.
//
// Like every backend, it must never know what it stores: it moves bytes by
// key and nothing more. It is meant for one writing process per directory;
// S3 or MinIO is the store for several.
package fs
