package host

import "syscall"

// childAttr has nothing to add on Windows: a child learns that its parent
// died from TROUPE_PARENT_PID.
func childAttr() *syscall.SysProcAttr { return nil }
