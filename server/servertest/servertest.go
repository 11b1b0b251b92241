// Package servertest starts real playground servers for tests: a
// server.Server on a fresh bbolt store (seeded with the tutorial's six
// users) in the test's temporary folder, served on 127.0.0.1 until the test
// ends. The server, bridge, client, command-line and browser tests all
// start theirs with it.
package servertest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/store"
)

// Server is a served server.Server.
type Server struct {
	*server.Server
	// Addr is where it listens (host:port), URL the same as http://Addr.
	Addr, URL string
	// Store is the server's store; Stop closes it.
	Store store.Store

	once    sync.Once
	stopErr error
	stop    func() error
}

// An Option changes how Start starts a server.
type Option func(*options)

type options struct {
	services []service
	ln       net.Listener
	dataPath string
	seedFile string
	noStore  bool
}

type service struct {
	desc *grpc.ServiceDesc
	impl any
}

// WithService registers a service besides UserManager before the server
// serves.
func WithService(desc *grpc.ServiceDesc, impl any) Option {
	return func(o *options) { o.services = append(o.services, service{desc, impl}) }
}

// WithListener serves on ln instead of a fresh loopback port.
func WithListener(ln net.Listener) Option {
	return func(o *options) { o.ln = ln }
}

// WithDataPath keeps the store at path instead of a fresh temporary file, so
// that a second server can open what a first one stored.
func WithDataPath(path string) Option {
	return func(o *options) { o.dataPath = path }
}

// WithSeedFile seeds a new store with the users of path (the tutorial's
// users.json format) instead of the tutorial's six.
func WithSeedFile(path string) Option {
	return func(o *options) { o.seedFile = path }
}

// WithoutStore serves no UserManager and opens no store.
func WithoutStore() Option {
	return func(o *options) { o.noStore = true }
}

// Start serves a new server with cfg until the test ends (or Stop). A cfg
// without a Logger gets one that discards.
func Start(t testing.TB, cfg server.Config, opts ...Option) *Server {
	t.Helper()
	if _, ok := optionsOf(opts).dataPathSet(); !ok {
		opts = append(opts, WithDataPath(filepath.Join(t.TempDir(), "users.db")))
	}
	ts, err := New(cfg, opts...)
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	t.Cleanup(func() {
		if err := ts.Stop(); err != nil {
			t.Errorf("servertest: stop the server: %v", err)
		}
	})
	return ts
}

// New serves a new server with cfg until Stop, for a program or an Example
// with no testing.TB: its store lives in a temporary folder that Stop
// removes, unless WithDataPath names one.
func New(cfg server.Config, opts ...Option) (*Server, error) {
	o := optionsOf(opts)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	var cleanup []func()
	undo := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	var st store.Store
	if !o.noStore {
		path, ok := o.dataPathSet()
		if !ok {
			dir, err := os.MkdirTemp("", "servertest")
			if err != nil {
				return nil, err
			}
			cleanup = append(cleanup, func() { os.RemoveAll(dir) })
			path = filepath.Join(dir, "users.db")
		}
		bolt, err := server.OpenStore(context.Background(), path, o.seedFile)
		if err != nil {
			undo()
			return nil, fmt.Errorf("open the store: %w", err)
		}
		st = bolt
		cleanup = append(cleanup, func() { st.Close() })
	}
	srv, err := server.New(cfg, st)
	if err != nil {
		undo()
		return nil, fmt.Errorf("server.New: %w", err)
	}
	for _, s := range o.services {
		srv.RegisterService(s.desc, s.impl)
	}
	ln := o.ln
	if ln == nil {
		if ln, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			undo()
			return nil, fmt.Errorf("listen: %w", err)
		}
	}
	ts := &Server{Server: srv, Addr: ln.Addr().String(), Store: st}
	ts.URL = "http://" + ts.Addr
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	ts.stop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := srv.Shutdown(ctx)
		if serr := <-done; serr != nil && err == nil {
			err = serr
		}
		undo()
		return err
	}
	return ts, nil
}

func optionsOf(opts []Option) *options {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	return &o
}

// dataPathSet returns the store's path, if an option named one.
func (o *options) dataPathSet() (string, bool) { return o.dataPath, o.dataPath != "" }

// Stop shuts the server down (its calls get 10 seconds to finish), waits for
// Serve to return and closes the store. It returns Shutdown's or Serve's
// error; a second call returns the first's.
func (s *Server) Stop() error {
	s.once.Do(func() { s.stopErr = s.stop() })
	return s.stopErr
}
