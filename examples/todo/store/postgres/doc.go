// Package postgres is a [store.Store] in a PostgreSQL database, through
// pgx v5 and its connection pool, pgxpool. The todo service uses it when it
// is given a DSN.
//
//	s, err := postgres.Open(ctx, "postgres://todo:secret@db:5432/todo?sslmode=require")
//	if err != nil {
//		return err // unavailable if the server cannot be reached
//	}
//	defer s.Close()
//
// Open applies the embedded migrations (migrations/NNNN_name.sql) that the
// database's schema_migrations table does not list yet, in one transaction
// under an advisory lock, so instances that start together migrate once.
package postgres
