-- Counts kept as todos change, so that a listing reads them from the list's
-- row instead of counting the list's todos; and an index per filter, so that
-- a page of active or completed todos reads only the rows it returns. Every
-- write to a list already locks its row (its change number): keeping the
-- counts there orders nothing more.
ALTER TABLE lists ADD COLUMN total BIGINT NOT NULL DEFAULT 0;
ALTER TABLE lists ADD COLUMN completed BIGINT NOT NULL DEFAULT 0;

UPDATE lists SET
	total = (SELECT COUNT(*) FROM todos WHERE list_id = lists.id),
	completed = (SELECT COUNT(*) FROM todos WHERE list_id = lists.id AND completed);

CREATE FUNCTION todos_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'UPDATE' AND OLD.completed = NEW.completed AND OLD.list_id = NEW.list_id THEN
		RETURN NULL;
	END IF;
	IF TG_OP IN ('DELETE', 'UPDATE') THEN
		UPDATE lists SET total = total - 1, completed = completed - OLD.completed::int WHERE id = OLD.list_id;
	END IF;
	IF TG_OP IN ('INSERT', 'UPDATE') THEN
		UPDATE lists SET total = total + 1, completed = completed + NEW.completed::int WHERE id = NEW.list_id;
	END IF;
	RETURN NULL;
END $$;

CREATE TRIGGER todos_count AFTER INSERT OR DELETE OR UPDATE OF completed, list_id ON todos
FOR EACH ROW EXECUTE FUNCTION todos_count();

CREATE INDEX todos_list_completed_seq ON todos (list_id, completed, seq);
