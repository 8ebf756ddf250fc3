//go:build unix

package natsbus_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) this process has used: the
// client and the embedded server together, so it is comparable between raw
// nats.go and natsbus, and steadier than wall-clock time on a shared machine.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
