package engine

import (
	"fmt"
	"os"
	"testing"

	"github.com/tracelake/tracelake/storage/objstore/s3/s3test"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if err := s3test.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stop MinIO:", err)
		code = 1
	}
	os.Exit(code)
}
