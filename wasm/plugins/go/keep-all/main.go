// Command keep-all is the trivial tracelake sampling plugin: it keeps
// every span and reads nothing, so running it measures what the host and
// the SDK cost per span and per batch. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o keep-all.wasm ./wasm/plugins/go/keep-all
package main

import "github.com/tracelake/tracelake/wasm/sdk"

func init() {
	sdk.Handle(keep)
}

func keep(sdk.Span) sdk.Decision { return sdk.Keep }

func main() {}
