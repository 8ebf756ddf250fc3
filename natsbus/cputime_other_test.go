//go:build !unix

package natsbus_test

import "time"

func cpuTime() time.Duration { return 0 }
