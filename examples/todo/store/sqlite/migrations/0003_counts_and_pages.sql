-- Counts kept as todos change, so that a listing reads one row for them
-- instead of counting the list's todos; and an index per filter, so that a
-- page of active or completed todos reads only the rows it returns.
ALTER TABLE lists ADD COLUMN total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lists ADD COLUMN completed INTEGER NOT NULL DEFAULT 0;

UPDATE lists SET
	total = (SELECT COUNT(*) FROM todos WHERE list_id = lists.id),
	completed = (SELECT COUNT(*) FROM todos WHERE list_id = lists.id AND completed = 1);

CREATE TRIGGER todos_count_insert AFTER INSERT ON todos BEGIN
	UPDATE lists SET total = total + 1, completed = completed + NEW.completed WHERE id = NEW.list_id;
END;

CREATE TRIGGER todos_count_delete AFTER DELETE ON todos BEGIN
	UPDATE lists SET total = total - 1, completed = completed - OLD.completed WHERE id = OLD.list_id;
END;

CREATE TRIGGER todos_count_update AFTER UPDATE OF completed, list_id ON todos
WHEN OLD.completed IS NOT NEW.completed OR OLD.list_id IS NOT NEW.list_id BEGIN
	UPDATE lists SET total = total - 1, completed = completed - OLD.completed WHERE id = OLD.list_id;
	UPDATE lists SET total = total + 1, completed = completed + NEW.completed WHERE id = NEW.list_id;
END;

CREATE INDEX todos_list_completed_seq ON todos (list_id, completed, seq);
