// Command pii-redaction is a tracelake sampling plugin that keeps every
// span but redacts span attribute values that look like personal data or
// secrets: e-mail addresses, card numbers, bearer tokens and
// authorization headers. See README.md. Build it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o pii-redaction.wasm ./wasm/plugins/go/pii-redaction
package main

import "github.com/tracelake/tracelake/wasm/sdk"

func init() {
	sdk.Features(sdk.SpanAttributes)
	sdk.OnInit(configure)
	sdk.Handle(redactSpan)
}

func main() {}
