package actor_test

import "time"

// sleepABit lets other goroutines finish exiting; used only while polling
// for a condition, never to order events.
func sleepABit() { time.Sleep(time.Millisecond) }
