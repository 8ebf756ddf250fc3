// Package sqlite is a [store.Store] in an SQLite database file, through the
// pure-Go driver modernc.org/sqlite (no cgo). It is the todo application's
// embedded default.
//
//	s, err := sqlite.Open(ctx, filepath.Join(dataDir, "todo.db"))
//	if err != nil {
//		return err
//	}
//	defer s.Close()
//	t, err := s.Create(ctx, store.NewTodo{ListID: store.DefaultListID, Title: "buy milk"})
//
// Open applies the embedded migrations (migrations/NNNN_name.sql) that the
// file's schema_migrations table does not list yet, in one transaction.
// The database runs in WAL mode with foreign keys on. All writes go through
// one connection, so writers queue instead of failing with SQLITE_BUSY, and
// reads use a pool of read-only connections beside it.
package sqlite
