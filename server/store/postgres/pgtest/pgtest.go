// Package pgtest runs throwaway PostgreSQL servers for tests and benchmarks:
// Debian's postgresql binaries (under /usr/lib/postgresql/VERSION/bin, not
// looked up on PATH), a cluster initialised into a temporary folder, a server
// on a free 127.0.0.1 port with its socket in that folder, stopped and
// removed at the end whatever the outcome.
//
// When the tests run as root, the cluster belongs to the postgres user, as
// PostgreSQL refuses to run as root: its folder is handed to that user and
// initdb and the server run under its uid. The server is a child of the test
// process, killed by the kernel if the test process dies first, so a crashed
// or timed-out test run leaves no server behind.
//
// A cluster that cannot start is an error that says why (the binaries are
// missing, initdb failed, the server's log); tests fail on it, never skip.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Superuser is the name of the cluster's superuser.
const Superuser = "postgres"

// Options tunes a cluster; the zero value suits tests.
type Options struct {
	// Fsync keeps the server's fsync (and full page writes) on, as in
	// production: benchmarks want the real cost of a durable commit. Tests
	// run faster without; a commit is still a commit to every client.
	Fsync bool
}

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir      string // the temporary folder: data/, sock/, server.log
	bin      string // the folder of initdb and postgres
	port     int
	password string
	opts     Options
	cred     *syscall.Credential // the postgres user's, when running as root

	server *exec.Cmd
	exited chan struct{} // closed when server ends
	dbs    atomic.Int64  // databases made by NewDatabase
}

// New starts a cluster for t and stops and removes it when t ends. It fails
// t, saying why, when the cluster cannot start.
func New(t testing.TB, opts Options) *Cluster {
	t.Helper()
	c, err := Start(opts)
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// Start initialises a cluster in a new temporary folder and starts its
// server. The caller must Close it.
func Start(opts Options) (*Cluster, error) {
	bin, err := binaries()
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, opts: opts}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root, PostgreSQL needs the postgres user (installed with Debian's postgresql package): %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	if c.dir, err = os.MkdirTemp("", "pgtest-"); err != nil {
		return nil, err
	}
	if err := c.init(); err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	// A free port can be taken by another process before the server binds
	// it: try a few.
	for range 5 {
		if c.port, err = freePort(); err != nil {
			break
		}
		if err = c.start(); err == nil || !strings.Contains(err.Error(), "already in use") {
			break
		}
	}
	if err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	return c, nil
}

// binaries finds the newest installed PostgreSQL's bin folder.
func binaries() (string, error) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(found, func(a, b string) int { return version(a) - version(b) })
	if len(found) == 0 {
		return "", errors.New("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): run `make postgres`, or apt-get install postgresql")
	}
	return filepath.Dir(found[len(found)-1]), nil
}

func version(initdb string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(initdb))))
	return v
}

// command runs a PostgreSQL program as the cluster's owner.
func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Pdeathsig: syscall.SIGKILL}
	return cmd
}

// init creates the cluster: a superuser with a random password for TCP
// connections, trust on its own socket.
func (c *Cluster) init() error {
	pw := make([]byte, 16)
	rand.Read(pw)
	c.password = hex.EncodeToString(pw)
	pwfile := filepath.Join(c.dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.Mkdir(filepath.Join(c.dir, "sock"), 0o700); err != nil {
		return err
	}
	if c.cred != nil {
		for _, p := range []string{c.dir, pwfile, filepath.Join(c.dir, "sock")} {
			if err := os.Chown(p, int(c.cred.Uid), int(c.cred.Gid)); err != nil {
				return err
			}
		}
	}
	out, err := c.command("initdb", "-D", filepath.Join(c.dir, "data"), "-U", Superuser, "--pwfile", pwfile,
		"--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions").CombinedOutput()
	os.Remove(pwfile)
	if err != nil {
		return fmt.Errorf("initdb: %v\n%s", err, out)
	}
	return nil
}

// start runs the server and waits until it accepts connections.
func (c *Cluster) start() error {
	logPath := filepath.Join(c.dir, "server.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := []string{"-D", filepath.Join(c.dir, "data"), "-p", strconv.Itoa(c.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories=" + filepath.Join(c.dir, "sock"),
		"-c", "max_connections=200", "-c", "shared_buffers=64MB"}
	if !c.opts.Fsync {
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	cmd := c.command("postgres", args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	c.server, c.exited = cmd, exited

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		select {
		case <-exited:
			c.server = nil
			return fmt.Errorf("postgres exited while starting; its log:\n%s", c.logTail())
		case <-ctx.Done():
			c.kill()
			c.server = nil
			return fmt.Errorf("postgres did not accept connections within 60s (%v); its log:\n%s", err, c.logTail())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logTail returns the end of the server's log.
func (c *Cluster) logTail() string {
	b, _ := os.ReadFile(filepath.Join(c.dir, "server.log"))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Password is the superuser's password.
func (c *Cluster) Password() string { return c.password }

// Addr is the server's host:port.
func (c *Cluster) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)) }

// URL is the postgres:// URL of database db, as the superuser, over TCP.
func (c *Cluster) URL(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword(Superuser, c.password), Host: c.Addr(), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

// CreateDatabase creates database name and returns its URL.
func (c *Cluster) CreateDatabase(ctx context.Context, name string) (string, error) {
	conn, err := pgx.Connect(ctx, c.URL("postgres"))
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return c.URL(name), nil
}

// NewDatabase creates a database of its own for t and returns its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	url, err := c.CreateDatabase(context.Background(), fmt.Sprintf("test_%d", c.dbs.Add(1)))
	if err != nil {
		t.Fatal(err)
	}
	return url
}

// Stop stops the server at once, as a crash or a lost host would (pg_ctl
// stop -m immediate: SIGQUIT to the postmaster), and waits until it is gone.
// Clients see their connections drop; Restart brings it back with its data.
func (c *Cluster) Stop() error {
	if c.server == nil {
		return nil
	}
	defer func() { c.server = nil }()
	c.server.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
		return nil
	case <-time.After(30 * time.Second):
		c.kill()
		return errors.New("postgres did not stop within 30s of SIGQUIT; killed")
	}
}

func (c *Cluster) kill() {
	c.server.Process.Kill()
	<-c.exited
}

// Restart starts the stopped server again, on the same port and data.
func (c *Cluster) Restart() error {
	if c.server != nil {
		return errors.New("pgtest: Restart of a running server")
	}
	return c.start()
}

// Close stops the server and removes the cluster's folder.
func (c *Cluster) Close() {
	c.Stop()
	os.RemoveAll(c.dir)
}
