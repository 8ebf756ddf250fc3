-- Users, their sessions and API tokens (secrets kept as SHA-256 hashes),
-- and who may see which list: its owner and the users it is shared with.
CREATE TABLE users (
	seq           BIGINT      GENERATED ALWAYS AS IDENTITY UNIQUE,
	id            TEXT        PRIMARY KEY,
	name          TEXT        NOT NULL UNIQUE,
	password_hash TEXT        NOT NULL,
	created_at    TIMESTAMPTZ NOT NULL
);

CREATE TABLE sessions (
	secret_hash BYTEA       PRIMARY KEY,
	user_id     TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	expires_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE api_tokens (
	seq         BIGINT      GENERATED ALWAYS AS IDENTITY UNIQUE,
	id          TEXT        PRIMARY KEY,
	user_id     TEXT        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name        TEXT        NOT NULL,
	secret_hash BYTEA       NOT NULL UNIQUE,
	created_at  TIMESTAMPTZ NOT NULL
);

CREATE INDEX api_tokens_user ON api_tokens (user_id, seq);

ALTER TABLE lists ADD COLUMN owner TEXT REFERENCES users (id) ON DELETE CASCADE;

CREATE INDEX lists_owner ON lists (owner, seq);

CREATE TABLE list_members (
	list_id TEXT NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
	user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	PRIMARY KEY (list_id, user_id)
);

CREATE INDEX list_members_user ON list_members (user_id);
