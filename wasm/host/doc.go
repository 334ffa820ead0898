// Package host runs sampling plugins — WebAssembly modules that follow
// the ABI in wasm/FORMAT.md — with wazero: it compiles each plugin once
// (through an on-disk compilation cache, so a cold start does not
// recompile), keeps a pool of initialised instances, writes batches of
// spans into a plugin's memory, and applies the plugin's decisions and
// edits back to the spans.
//
// It must never let a plugin harm the process or the data it was given:
// plugins get no files, network, environment or clock beyond the ABI; a
// memory limit and a deadline bound every call; a trap, timeout, memory
// blow-up or malformed answer is contained, counted, logged and handled by
// the plugin's failure policy, and the instance that failed is discarded.
package host
