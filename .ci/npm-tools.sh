#!/usr/bin/env bash
# .ci/npm-tools.sh installs the npm validators that the apidoc tests run
# against the generated AsyncAPI and OpenAPI documents (validators no one
# here wrote), at pinned versions, into one directory:
#
#	$TROUPE_NPM_TOOLS, default /opt/troupe-npm
#
# The tests find them there (or through TROUPE_NPM_TOOLS) and never reach the
# network themselves; under CI=true a test fails when they are missing.
#
# It is idempotent: when the directory already holds these versions it
# installs nothing. It needs node and npm (Debian's nodejs and npm packages),
# and installs them with apt-get if they are missing. Source it to get
# TROUPE_NPM_TOOLS exported:
#
#	. .ci/npm-tools.sh
#	bash .ci/npm-tools.sh     # prints TROUPE_NPM_TOOLS=...
set -euo pipefail

dir="${TROUPE_NPM_TOOLS:-/opt/troupe-npm}"
# The pins. Change them here only; the tests print the versions they ran.
packages=(
	"@asyncapi/parser@3.6.3"
	"@apidevtools/swagger-parser@13.1.0"
	"@redocly/cli@2.77.0"
)

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
	echo "npm-tools.sh: node or npm is not installed; installing" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
fi

want=$(printf '%s\n' "${packages[@]}")
if [ -f "$dir/.pins" ] && [ "$(cat "$dir/.pins")" = "$want" ] && [ -d "$dir/node_modules" ]; then
	echo "npm-tools.sh: $dir is up to date" >&2
else
	mkdir -p "$dir"
	rm -f "$dir/.pins"
	if [ ! -f "$dir/package.json" ]; then
		printf '{"name":"troupe-npm-tools","private":true}\n' >"$dir/package.json"
	fi
	# No audit, no funding notice, no update check: nothing but the
	# registry.
	(cd "$dir" && npm install --no-audit --no-fund --no-update-notifier --save-exact --loglevel=error "${packages[@]}" >&2)
	printf '%s\n' "$want" >"$dir/.pins"
fi

export TROUPE_NPM_TOOLS="$dir"
echo "TROUPE_NPM_TOOLS=$dir"
