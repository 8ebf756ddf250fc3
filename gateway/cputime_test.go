//go:build unix

package gateway

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) the process used so far:
// on a machine shared with other work it measures cost where wall-clock
// time does not.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
