package actor

// Test-only views of runtime state, standing in for OTP's process_info
// (links, monitors, monitored_by) and its timer memory checks.

// LinkedTo reports whether a and b are linked.
func LinkedTo(a, b PID) bool { return a.p != nil && b.p != nil && isLinked(a.p, b.p) }

// MonitorCounts returns how many monitors pid holds and how many are set
// on it.
func MonitorCounts(pid PID) (monitors, monitoredBy int) {
	e := pid.p.getExt()
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.monitoring), len(e.watchers)
}

// PendingTimers returns how many timers s has pending.
func PendingTimers(s *System) int {
	s.timers.mu.Lock()
	defer s.timers.mu.Unlock()
	return len(s.timers.heap)
}
