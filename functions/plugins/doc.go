// Package plugins runs the sampling plugins users configure: an ordered
// chain of WebAssembly plugins (wasm/host) per tenant, with a default
// chain for tenants that have none, run over every ingest request as a
// pipeline.Stage.
//
// Plugins come from files or object-store URLs. The Manager reloads the
// chains when their configuration or a plugin's source changes (a file's
// content, an object's ETag, found by polling), loading only what changed
// and switching every tenant to the new chains at once.
//
// It must never fail a request because of a reload: a request runs the
// chains it started with to the end, and a replaced plugin is closed only
// once no request uses it. It must never run a plugin that failed to load:
// a configuration with a plugin that cannot be read, is not a valid
// module, speaks another ABI version or fails its initialisation is
// rejected whole, with an error naming the chain and the plugin, and the
// chains in force keep running. And it must never let spans bypass the
// chains: after Close, Process fails instead of passing them through.
package plugins
