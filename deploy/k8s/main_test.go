package k8s_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind (the image test
// runs the go command and the binary).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
