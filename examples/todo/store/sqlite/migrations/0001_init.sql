-- Lists, todos and the idempotency keys of creates. Times are Unix
-- microseconds (UTC); seq gives the creation order.
CREATE TABLE lists (
	seq        INTEGER PRIMARY KEY,
	id         TEXT    NOT NULL UNIQUE,
	name       TEXT    NOT NULL,
	created_at INTEGER NOT NULL
);

CREATE TABLE todos (
	seq        INTEGER PRIMARY KEY,
	id         TEXT    NOT NULL UNIQUE,
	list_id    TEXT    NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
	title      TEXT    NOT NULL,
	completed  INTEGER NOT NULL DEFAULT 0 CHECK (completed IN (0, 1)),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	version    INTEGER NOT NULL DEFAULT 1
);

CREATE INDEX todos_list_seq ON todos (list_id, seq);

-- One row per idempotent create, kept after the todo is deleted so that a
-- redelivered create does not bring it back.
CREATE TABLE todo_requests (
	key        TEXT    PRIMARY KEY,
	todo_id    TEXT    NOT NULL,
	created_at INTEGER NOT NULL
);

INSERT INTO lists (id, name, created_at)
VALUES ('default', 'Todo', CAST(unixepoch('subsec') * 1000000 AS INTEGER));
