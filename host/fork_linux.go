package host

import "syscall"

// childAttr puts a command service in a process group of its own (a Ctrl-C
// at the terminal reaches the node only, which stops its children in order)
// and has the kernel send it SIGTERM when the node dies, however it dies.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
