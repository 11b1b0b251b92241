// Command playground serves the gRPC playground on one port: the
// UserManager service (or, with -backend, any gRPC server it fronts) over
// native gRPC, gRPC-Web and a grpc-websockets bridge, and the page that
// drives it from the browser.
//
// Every flag can also be set by an environment variable: PLAYGROUND_ and the
// flag's name in upper case with - as _ (PLAYGROUND_ADDR, PLAYGROUND_DATA...).
// A flag on the command line wins over the variable.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.opentelemetry.io/otel"

	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/protofiles"
	"github.com/grpcplay/playground/server/store"
)

func main() {
	if err := run(); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		if pe, ok := errors.AsType[plainError](err); ok {
			fmt.Fprintln(os.Stderr, "playground:", pe)
			os.Exit(1)
		}
		slog.Error("playground", "err", err)
		os.Exit(1)
	}
}

func run() error {
	o, err := parseFlags(os.Args[1:])
	if _, usage := errors.AsType[usageError](err); usage && !errors.Is(err, flag.ErrHelp) {
		os.Exit(2) // the flag package has said what is wrong
	}
	if err != nil {
		return err
	}
	log, err := o.logger()
	if err != nil {
		return err
	}
	slog.SetDefault(log)
	cfg, err := o.serverConfig(log)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := loadSchema(ctx, o, &cfg, log); err != nil {
		return err
	}
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("opentelemetry", "err", err) }))
	if cfg.Tracing, err = server.TracingFromEnv(ctx); err != nil {
		return err
	}
	defer func() {
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := cfg.Tracing.Shutdown(fctx); err != nil {
			log.Warn("spans not exported", "err", err)
		}
	}()

	var st store.Store
	serving := "backend " + o.backend
	if cfg.Backend == nil {
		storeCfg := server.StoreConfig{URL: o.store, Path: o.data, SeedFile: o.seedFile, Logger: log}
		if st, err = storeCfg.Open(ctx); err != nil {
			return err
		}
		defer st.Close()
		serving = storeCfg.String()
	}
	srv, err := server.New(cfg, st)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return err
	}
	scheme := "http://"
	if cfg.TLSCertFile != "" {
		scheme = "https://"
	}
	ready := []any{"url", scheme + ln.Addr().String(), "data", serving}
	if cfg.Metrics {
		mln, err := net.Listen("tcp", o.metricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("-metrics-addr: %w", err)
		}
		go func() {
			if err := srv.ServeMetrics(mln); err != nil {
				log.Error("metrics", "err", err)
			}
		}()
		ready = append(ready, "metrics", "http://"+mln.Addr().String()+"/metrics")
	}
	if cfg.Tracing != nil {
		ready = append(ready, "traces", os.Getenv("OTEL_TRACES_EXPORTER"))
	}
	log.Info("playground ready", ready...)

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	for {
		select {
		case err := <-errc:
			return err
		case <-hup:
			if err := srv.ReloadTLS(); err != nil {
				log.Error("SIGHUP: TLS certificate not reloaded", "err", err)
			} else {
				log.Info("SIGHUP: TLS certificate reloaded")
			}
			continue
		case <-ctx.Done():
		}
		break
	}
	log.Info("shutting down", "grace", o.grace)
	sctx, cancel := context.WithTimeout(context.Background(), o.grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("calls cut off at the end of the grace period", "err", err)
	}
	return <-errc
}

// loadSchema compiles the -proto files and reads the -protoset files into
// cfg.Schema, for a front. A file that does not compile ends the start
// with every compiler message (file:line:col: message), one per line.
func loadSchema(ctx context.Context, o *options, cfg *server.Config, log *slog.Logger) error {
	if o.schema.Empty() {
		return nil
	}
	if cfg.Backend == nil {
		return errors.New("-proto, -import-path and -protoset describe a backend's schema: they need -backend")
	}
	files, err := protofiles.Load(ctx, o.schema)
	if err != nil {
		return plainError{fmt.Errorf("the schema files do not load:\n%w", err)}
	}
	log.Info("schema from files: reflection answered from them, the rest asked of the backend",
		"proto", o.schema.Protos, "protoset", o.schema.Protosets, "services", strings.Join(protofiles.ServiceNames(files), ","))
	cfg.Schema = files
	return nil
}

// plainError is an error whose text has lines of its own (a compiler's
// messages): main prints it as it is, not quoted in a log record.
type plainError struct{ err error }

func (e plainError) Error() string { return e.err.Error() }
func (e plainError) Unwrap() error { return e.err }
