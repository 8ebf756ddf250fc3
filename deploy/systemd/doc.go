// Package systemd holds the systemd unit that runs a troupe application as a
// hardened service, deploy/systemd/troupe.service, so that tools can install
// it and tests can check it.
//
// The unit starts /usr/local/bin/troupe run /etc/troupe/troupe.yaml with its
// data in /var/lib/troupe, as an ephemeral user (DynamicUser=yes) that can
// write only there, with no capabilities, a system call filter and the rest
// of systemd's sandboxing. It waits for troupe's readiness notification
// (Type=notify) and restarts it on failure. docs/operations.md explains how
// to install, run, observe and upgrade it.
package systemd

import _ "embed"

// Unit is the text of troupe.service.
//
//go:embed troupe.service
var Unit []byte
