package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// Stat returns a snapshot of the connection pool's statistics, for
// metrics (a Prometheus collector of pgxpool's, say).
func (s *Store) Stat() *pgxpool.Stat { return s.pool.Stat() }
