-- Lists, todos and the idempotency keys of creates. seq gives the creation
-- order.
CREATE TABLE lists (
	seq        BIGINT      GENERATED ALWAYS AS IDENTITY UNIQUE,
	id         TEXT        PRIMARY KEY,
	name       TEXT        NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE todos (
	seq        BIGINT      GENERATED ALWAYS AS IDENTITY UNIQUE,
	id         TEXT        PRIMARY KEY,
	list_id    TEXT        NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
	title      TEXT        NOT NULL,
	completed  BOOLEAN     NOT NULL DEFAULT FALSE,
	created_at TIMESTAMPTZ NOT NULL,
	updated_at TIMESTAMPTZ NOT NULL,
	version    BIGINT      NOT NULL DEFAULT 1
);

CREATE INDEX todos_list_seq ON todos (list_id, seq);

-- One row per idempotent create, kept after the todo is deleted so that a
-- redelivered create does not bring it back.
CREATE TABLE todo_requests (
	key        TEXT        PRIMARY KEY,
	todo_id    TEXT        NOT NULL,
	created_at TIMESTAMPTZ NOT NULL
);

INSERT INTO lists (id, name, created_at) VALUES ('default', 'Todo', date_trunc('microseconds', now()));
