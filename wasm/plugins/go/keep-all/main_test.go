package main

import (
	"slices"
	"testing"

	"github.com/tracelake/tracelake/wasm/sdk"
	"github.com/tracelake/tracelake/wasm/sdk/sdktest"
)

func TestKeepAll(t *testing.T) {
	if err := sdktest.Init(""); err != nil {
		t.Fatal(err)
	}
	if err := sdktest.Init(`{"percent": 1}`); err == nil {
		t.Error("configuration accepted by a plugin that takes none")
	}
	if f := sdk.Registered().Features(); f != 0 {
		t.Errorf("features %b, want none", f)
	}
	res, err := sdktest.Run(sdktest.Batch{Spans: make([]sdktest.Span, 3)})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Kept(), []int{0, 1, 2}) || len(res.Edits) != 0 {
		t.Errorf("kept %v, edits %v", res.Kept(), res.Edits)
	}
}
