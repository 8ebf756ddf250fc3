# Sourced by .ci/run: installs the NATS command-line tool (`nats`) at one
# pinned version and exports TROUPE_NATS_CLI, its path. The tests use it
# as an attacker (natsbus's identity tests, logged in with one service's
# credential) and as an operator (`nats micro ls` in the observe tests);
# this file is the one place that says which version.
NATS_CLI_VERSION=v0.5.0 # /work/.library/env/packages/go-partial.tsv: skip v0.5.1
gobin="$(go env GOPATH)/bin"
if ! "$gobin/nats" --version 2>/dev/null | grep -q "${NATS_CLI_VERSION#v}"; then
  (cd /tmp && GOWORK=off go install "github.com/nats-io/natscli/nats@${NATS_CLI_VERSION}")
fi
export TROUPE_NATS_CLI="$gobin/nats"
"$TROUPE_NATS_CLI" --version
