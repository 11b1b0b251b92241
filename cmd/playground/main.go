// Command playground serves the gRPC playground: the UserManager service
// over native gRPC, gRPC-Web and a grpc-websockets bridge, and the page that
// drives it from the browser, all on one port.
//
// Every flag can also be set by an environment variable: PLAYGROUND_ and the
// flag's name in upper case with - as _ (PLAYGROUND_ADDR, PLAYGROUND_DATA...).
// A flag on the command line wins over the variable.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/grpcplay/playground/server"
)

func main() {
	if err := run(); err != nil {
		slog.Error("playground", "err", err)
		os.Exit(1)
	}
}

func run() error {
	fs := flag.NewFlagSet("playground", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:8080", "address to listen on, for every protocol")
	data := fs.String("data", "data/users.db", "the store's file (bbolt), when -store is not set; its folder is created")
	storeURL := fs.String("store", "", "a PostgreSQL URL, postgres://user:password@host:port/db, for a store that replicas share; empty: the -data file")
	seedFile := fs.String("seed-file", "", "users to load into a new store (the tutorial's users.json format); default: the tutorial's six")
	origins := fs.String("allowed-origins", "", "comma-separated browser origins allowed besides the page's own, e.g. https://app.example.com")
	maxMsg := fs.Int("max-msg-size", server.DefaultMaxMsgSize, "largest message in bytes, in both directions")
	maxStreams := fs.Int("max-streams", server.DefaultMaxStreams, "most WebSocket streams open at once")
	maxStreamMsgs := fs.Int("max-stream-msgs", server.DefaultMaxStreamMsgs, "most requests in one client or bidi stream")
	grace := fs.Duration("shutdown-timeout", 10*time.Second, "how long calls in flight may finish after SIGINT or SIGTERM")
	level := fs.String("log-level", "info", "debug, info, warn or error")
	if err := setFromEnv(fs, "PLAYGROUND_"); err != nil {
		return err
	}
	fs.Parse(os.Args[1:])

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(*level)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	storeCfg := server.StoreConfig{URL: *storeURL, Path: *data, SeedFile: *seedFile, Logger: log}
	st, err := storeCfg.Open(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := server.New(server.Config{
		AllowedOrigins: splitList(*origins),
		MaxMsgSize:     *maxMsg,
		MaxStreams:     *maxStreams,
		MaxStreamMsgs:  *maxStreamMsgs,
		Logger:         log,
	}, st)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	log.Info("playground ready", "url", "http://"+ln.Addr().String(), "data", storeCfg.String())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", *grace)
	sctx, cancel := context.WithTimeout(context.Background(), *grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("calls cut off at the end of the grace period", "err", err)
	}
	return <-errc
}

// setFromEnv sets every flag of fs from the variable prefix+NAME, if set.
func setFromEnv(fs *flag.FlagSet, prefix string) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		name := prefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok && err == nil {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("%s=%q: not a valid -%s: %w", name, v, f.Name, e)
			}
		}
	})
	return err
}

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}
