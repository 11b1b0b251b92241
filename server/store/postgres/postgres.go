// Package postgres is a store.Store on PostgreSQL, for running several
// playground replicas on one set of users (the bbolt file is for one
// process). It talks to the server through a pgx connection pool.
//
// Open creates or upgrades the schema (embedded, versioned migrations under
// an advisory lock, so replicas may start at once), and Init loads the seed
// users once, whichever replica gets there first. Every operation is one
// indexed statement: Add is a plain INSERT whose primary key refuses a taken
// id, so of concurrent adds of one id, on any replicas, exactly one succeeds,
// and it returns after the commit. ListByType reads keyset pages of the
// (user_type, id) index.
//
// When the database cannot be reached, operations fail fast with errors that
// wrap store.ErrUnavailable, and the pool reconnects by itself once the
// server is back; Ping (store.Pinger) tells the server's health reporting.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store"
)

// Defaults for what the URL does not set (connect_timeout, pool_*).
const (
	// connectTimeout bounds one connection attempt, so a call fails fast
	// when the server is down instead of waiting on the network.
	connectTimeout = 5 * time.Second
	// healthCheckPeriod is how often the pool drops idle connections that
	// died.
	healthCheckPeriod = 5 * time.Second
	// pingTimeout bounds the liveness check of a connection taken from the
	// pool after it sat idle.
	pingTimeout = 5 * time.Second
	// opTimeout bounds each operation whose caller set no deadline, so no
	// call waits forever on a server that stopped answering.
	opTimeout = 30 * time.Second
)

// The unique_violation SQLSTATE: an INSERT of a taken primary key.
const uniqueViolation = "23505"

// Store is a store.Store on PostgreSQL. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
	desc string
}

// Open connects to the database at rawURL (postgres://user:password@host:port/db?...),
// checks that it answers, and brings its schema to this build's version. A
// server that does not answer is an error wrapping store.ErrUnavailable.
// Errors never show the URL's password. log, when not nil, hears about
// applied migrations.
func Open(ctx context.Context, rawURL string, log *slog.Logger) (*Store, error) {
	desc := Redact(rawURL)
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		// pgx's message quotes the URL and masks the password only on a
		// best-effort basis: keep it out.
		return nil, fmt.Errorf("store: %s is not a valid PostgreSQL URL", desc)
	}
	query := parsedQuery(rawURL)
	if !query.Has("connect_timeout") {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	if !query.Has("pool_health_check_period") {
		cfg.HealthCheckPeriod = healthCheckPeriod
	}
	cfg.PingTimeout = pingTimeout
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = "playground"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", desc, err)
	}
	s := &Store{pool: pool, desc: desc}
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	err = pool.Ping(pctx)
	cancel()
	if err != nil {
		pool.Close()
		return nil, s.fail(ctx, desc, err)
	}
	applied, err := migrate(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, s.fail(ctx, "migrate the schema of "+desc, err)
	}
	if applied > 0 && log != nil {
		log.Info("store schema migrated", "store", desc, "versions", applied)
	}
	return s, nil
}

// parsedQuery returns the query parameters of a URL, or none.
func parsedQuery(rawURL string) url.Values {
	u, err := url.Parse(rawURL)
	if err != nil {
		return url.Values{}
	}
	return u.Query()
}

// Redact returns rawURL with its passwords masked, fit for a log line. A
// URL that does not parse is shown as its scheme alone, and a string that
// is no URL at all (a key=value connection string) not at all.
func Redact(rawURL string) string {
	scheme, _, isURL := strings.Cut(rawURL, "://")
	if !isURL {
		return "(not a URL)"
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return scheme + "://(unparsable URL)"
	}
	q := u.Query()
	for _, key := range []string{"password", "sslpassword"} {
		if q.Has(key) {
			q.Set(key, "xxxxx")
			u.RawQuery = q.Encode()
		}
	}
	return u.Redacted()
}

// String describes the store for logs, password masked.
func (s *Store) String() string { return s.desc }

// Ping implements store.Pinger: it checks that the database answers,
// through a pooled connection, within pingTimeout.
func (s *Store) Ping(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := s.pool.Ping(pctx); err != nil {
		return s.fail(ctx, "ping", err)
	}
	return nil
}

// do runs one operation, bounded by opTimeout when the caller set no
// deadline, and runs it a second time when the first failed on a broken
// connection (one the pool handed out before it noticed the server had
// restarted, say) and a second run cannot repeat a write: always for a read
// (idempotent), for a write only when nothing reached the server. The caller
// passes its error through fail, with the caller's ctx.
func (s *Store) do(ctx context.Context, idempotent bool, fn func(ctx context.Context) error) error {
	octx := ctx
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		octx, cancel = context.WithTimeout(ctx, opTimeout)
		defer cancel()
	}
	err := fn(octx)
	if err != nil && octx.Err() == nil && unreachable(err) && (idempotent || pgconn.SafeToRetry(err)) {
		err = fn(octx)
	}
	return err
}

// errNoUser stands for pgx.ErrNoRows inside Get.
var errNoUser = errors.New("no such user")

// Get implements store.Store: one primary key lookup.
func (s *Store) Get(ctx context.Context, id uint32) (*pb.User, error) {
	var nickname, mail string
	var typ int16
	err := s.do(ctx, true, func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, "SELECT nickname, mail_address, user_type FROM users WHERE id = $1", int64(id)).Scan(&nickname, &mail, &typ)
		if errors.Is(err, pgx.ErrNoRows) {
			return errNoUser
		}
		return err
	})
	if errors.Is(err, errNoUser) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, s.fail(ctx, fmt.Sprintf("get user %d", id), err)
	}
	return &pb.User{Id: id, Nickname: nickname, MailAddress: mail, UserType: pb.User_UserType(typ)}, nil
}

// Add implements store.Store: one INSERT, committed before it returns. A
// taken id is refused by the primary key (store.ErrExists), never by a read
// before the write. When the connection fails mid-way the error wraps
// store.ErrUnavailable: the user may or may not have been stored, and the
// caller was not told it was.
func (s *Store) Add(ctx context.Context, u *pb.User) error {
	err := s.do(ctx, false, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, "INSERT INTO users (id, nickname, mail_address, user_type) VALUES ($1, $2, $3, $4)",
			int64(u.GetId()), u.GetNickname(), u.GetMailAddress(), int16(u.GetUserType()))
		return err
	})
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == uniqueViolation {
		return store.ErrExists
	}
	if err != nil {
		return s.fail(ctx, fmt.Sprintf("add user %d", u.GetId()), err)
	}
	return nil
}

// ListByType implements store.Store: one keyset page of the (user_type, id)
// index.
func (s *Store) ListByType(ctx context.Context, t pb.User_UserType, after uint32, limit int) ([]*pb.User, error) {
	if limit <= 0 {
		return nil, nil
	}
	var page []*pb.User
	err := s.do(ctx, true, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, "SELECT id, nickname, mail_address FROM users WHERE user_type = $1 AND id > $2 ORDER BY id LIMIT $3",
			int16(t), int64(after), limit)
		if err != nil {
			return err
		}
		page = make([]*pb.User, 0, min(limit, 256))
		var id int64
		var nickname, mail string
		_, err = pgx.ForEachRow(rows, []any{&id, &nickname, &mail}, func() error {
			page = append(page, &pb.User{Id: uint32(id), Nickname: nickname, MailAddress: mail, UserType: t})
			return nil
		})
		return err
	})
	if err != nil {
		return nil, s.fail(ctx, "list users", err)
	}
	return page, nil
}

// Init implements store.Store. The 'seeded' row and the users go in one
// transaction; a replica that starts at the same time waits on the row's
// key, then finds it and loads nothing.
func (s *Store) Init(ctx context.Context, users []*pb.User) (bool, error) {
	loaded := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, "INSERT INTO store_state (key, value) VALUES ('seeded', $1) ON CONFLICT (key) DO NOTHING", strconv.Itoa(len(users)))
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		_, err = tx.CopyFrom(ctx, pgx.Identifier{"users"}, []string{"id", "nickname", "mail_address", "user_type"},
			pgx.CopyFromSlice(len(users), func(i int) ([]any, error) {
				u := users[i]
				return []any{int64(u.GetId()), u.GetNickname(), u.GetMailAddress(), int16(u.GetUserType())}, nil
			}))
		if err != nil {
			return fmt.Errorf("seed users: %w", err)
		}
		loaded = true
		return nil
	})
	if err != nil {
		return false, s.fail(ctx, "load the seed users", err)
	}
	return loaded, nil
}

// Close implements store.Store, closing the pool's connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// fail wraps an error of operation op: a connection failure, or a statement
// that outlived opTimeout, wraps store.ErrUnavailable as well, unless the
// caller's ctx ended (then the caller's own deadline or cancellation is the
// cause).
func (s *Store) fail(ctx context.Context, op string, err error) error {
	if ctx.Err() == nil && unreachable(err) {
		return fmt.Errorf("store: %s: %w: %w", op, store.ErrUnavailable, err)
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// unreachable tells whether err means the database could not be reached or
// the connection to it broke, rather than that a statement failed.
func unreachable(err error) bool {
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		switch code := pgErr.Code; {
		case strings.HasPrefix(code, "08"): // connection_exception
			return true
		case code == "57P01", code == "57P02", code == "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		case strings.HasPrefix(code, "53"): // insufficient_resources, too_many_connections among them
			return true
		}
		return false
	}
	if _, ok := errors.AsType[*pgconn.ConnectError](err); ok {
		return true
	}
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		pgconn.Timeout(err) || pgconn.SafeToRetry(err)
}
