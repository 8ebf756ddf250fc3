//go:build unix && !linux

package host

import "syscall"

// childAttr puts a command service in a process group of its own. Without
// Linux's Pdeathsig, a child learns that its parent died from
// TROUPE_PARENT_PID (a Go child built on this package checks it every
// second).
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
