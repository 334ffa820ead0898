// Command badversion is a host test plugin claiming an ABI version the
// host does not speak.
package main

//go:wasmexport tracelake_abi_version
func version() int32 { return 2 }

//go:wasmexport tracelake_alloc
func alloc(n int32) int32 { return 0 }

//go:wasmexport tracelake_sample
func sample(p, n int32) int32 { return 0 }

func main() {}
