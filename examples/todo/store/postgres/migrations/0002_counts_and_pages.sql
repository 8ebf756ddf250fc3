-- Counts kept as todos change, so that a listing reads a few rows for them
-- instead of counting the list's todos; and an index per filter, so that a
-- page of active or completed todos reads only the rows it returns.
--
-- The counts of a list are split over 16 shards, each transaction adding
-- to the shard of its connection: concurrent writers of one list do not
-- queue on one row lock (which they would hold until their commit is on
-- disk), and the server can still flush their commits together. A listing
-- adds the shards up.
CREATE TABLE list_counts (
	list_id   TEXT     NOT NULL,
	shard     SMALLINT NOT NULL,
	total     BIGINT   NOT NULL DEFAULT 0,
	completed BIGINT   NOT NULL DEFAULT 0,
	PRIMARY KEY (list_id, shard)
);

CREATE FUNCTION list_counts_init() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO list_counts (list_id, shard) SELECT NEW.id, s FROM generate_series(0, 15) AS s;
	RETURN NULL;
END $$;

CREATE TRIGGER lists_counts_init AFTER INSERT ON lists FOR EACH ROW EXECUTE FUNCTION list_counts_init();

INSERT INTO list_counts (list_id, shard) SELECT id, s FROM lists, generate_series(0, 15) AS s;

UPDATE list_counts c SET total = x.total, completed = x.completed
FROM (SELECT list_id, COUNT(*) AS total, COUNT(*) FILTER (WHERE completed) AS completed FROM todos GROUP BY list_id) x
WHERE c.list_id = x.list_id AND c.shard = 0;

CREATE FUNCTION todos_count() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	s SMALLINT := (pg_backend_pid() % 16)::smallint;
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.completed = NEW.completed AND OLD.list_id = NEW.list_id THEN
		RETURN NULL;
	END IF;
	IF TG_OP IN ('DELETE', 'UPDATE') THEN
		UPDATE list_counts SET total = total - 1, completed = completed - OLD.completed::int
		WHERE list_id = OLD.list_id AND shard = s;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		UPDATE list_counts SET total = total + 1, completed = completed + NEW.completed::int
		WHERE list_id = NEW.list_id AND shard = s;
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER todos_count AFTER INSERT OR DELETE OR UPDATE OF completed, list_id ON todos
FOR EACH ROW EXECUTE FUNCTION todos_count();

CREATE INDEX todos_list_completed_seq ON todos (list_id, completed, seq);
