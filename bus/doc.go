// Package bus routes named messages between the services of an application:
// it refuses what a sender did not declare, delivers to whoever declared that
// it receives, puts a deadline on every request, bounds outstanding requests,
// counts everything, and never drops a message silently.
package bus
