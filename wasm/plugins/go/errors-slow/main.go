// Command errors-slow is a tracelake sampling plugin that keeps spans
// with an error status or a long duration, plus a percentage of the rest
// chosen consistently per trace. See README.md. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o errors-slow.wasm ./wasm/plugins/go/errors-slow
package main

import "github.com/tracelake/tracelake/wasm/sdk"

func init() {
	sdk.OnInit(configure)
	sdk.Handle(decide)
}

func main() {}
