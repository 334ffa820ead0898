// Command probabilistic is a tracelake sampling plugin that keeps a
// configured percentage of traces, consistently with OpenTelemetry's
// consistent probability sampling: every span of a trace gets the same
// decision on every instance, and kept spans carry their sampling
// threshold in their trace state. See README.md. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o probabilistic.wasm ./wasm/plugins/go/probabilistic
package main

import "github.com/tracelake/tracelake/wasm/sdk"

func init() {
	sdk.OnInit(configure)
	sdk.Handle(decide)
}

func main() {}
