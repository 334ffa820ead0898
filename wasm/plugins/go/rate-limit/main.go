// Command rate-limit is a tracelake sampling plugin that caps the spans
// kept per second for each service with a token bucket. Its buckets are
// per instance: see README.md. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o rate-limit.wasm ./wasm/plugins/go/rate-limit
package main

import "github.com/tracelake/tracelake/wasm/sdk"

func init() {
	sdk.OnInit(configure)
	sdk.HandleBatch(limit)
}

func main() {}
