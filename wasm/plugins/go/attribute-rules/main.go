// Command attribute-rules is a tracelake sampling plugin that drops spans
// whose attributes match configured rules — health checks, readiness
// probes, noisy routes. See README.md. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o attribute-rules.wasm ./wasm/plugins/go/attribute-rules
package main

import "github.com/tracelake/tracelake/wasm/sdk"

func init() {
	sdk.Features(sdk.SpanAttributes)
	sdk.OnInit(configure)
	sdk.Handle(decide)
}

func main() {}
