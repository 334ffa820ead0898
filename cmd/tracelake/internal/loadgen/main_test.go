package loadgen

import (
	"testing"

	"go.uber.org/goleak"
)

// Every run must leave no sender, scraper or connection goroutine behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
