package alarm

import "sync"

// historySize is how many events a Monitor remembers (History).
const historySize = 256

// history is a ring of the last events.
type history struct {
	mu     sync.Mutex
	events []Event // oldest first, at most historySize
}

func (h *history) add(ev Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.events) == historySize {
		copy(h.events, h.events[1:])
		h.events = h.events[:historySize-1]
	}
	h.events = append(h.events, ev)
}

// History returns the last events of the monitor's alarms (at most 256),
// oldest first: when each was raised and cleared, with the value and the
// message of its notification.
func (m *Monitor) History() []Event {
	m.history.mu.Lock()
	defer m.history.mu.Unlock()
	return append([]Event(nil), m.history.events...)
}
