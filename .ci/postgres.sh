#!/usr/bin/env bash
# .ci/postgres.sh starts the machine's PostgreSQL cluster and makes sure a
# role "troupe" (password "troupe", CREATEDB) exists, so that the PostgreSQL
# tests (internal/pgtest) can create a throwaway database per test.
#
# Run it as root. It is idempotent: running it twice changes nothing.
# It prints the DSN on its last line; source it to get the variable exported:
#
#	. .ci/postgres.sh        # exports TROUPE_TEST_PG_DSN
#	bash .ci/postgres.sh     # prints TROUPE_TEST_PG_DSN=...
set -euo pipefail

if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
	echo "postgres.sh: PostgreSQL is not installed; installing" >&2
	apt-get update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
fi

version=$(ls /etc/postgresql | sort -V | tail -n 1)
if [ -z "$version" ]; then
	echo "postgres.sh: no cluster under /etc/postgresql" >&2
	exit 1
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main"' | grep -q .; then
	pg_createcluster "$version" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" && $4 == "online"' | grep -q .; then
	pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2
fi

# Wait until the server accepts connections (at most 30 s).
for _ in $(seq 1 60); do
	if su postgres -c "psql -qtAc 'select 1'" >/dev/null 2>&1; then
		break
	fi
	sleep 0.5
done

su postgres -c "psql -v ON_ERROR_STOP=1 -qtA" >&2 <<'SQL'
DO $$
BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'troupe') THEN
		CREATE ROLE troupe LOGIN PASSWORD 'troupe' CREATEDB;
	ELSE
		ALTER ROLE troupe LOGIN PASSWORD 'troupe' CREATEDB;
	END IF;
END
$$;
-- DROP DATABASE ... WITH (FORCE), which pgtest uses to drop a test's
-- database, must also end an autovacuum worker that a benchmark's inserts
-- started on it; PostgreSQL 15 asks for pg_signal_backend for that.
GRANT pg_signal_backend TO troupe;
SQL

port=$(pg_lsclusters -h | awk -v v="$version" '$1 == v && $2 == "main" { print $3 }')
TROUPE_TEST_PG_DSN="postgres://troupe:troupe@127.0.0.1:${port:-5432}/postgres?sslmode=disable"
export TROUPE_TEST_PG_DSN
echo "TROUPE_TEST_PG_DSN=$TROUPE_TEST_PG_DSN"
