package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/front"
	"github.com/grpcplay/playground/server/listener"
	"github.com/grpcplay/playground/server/protofiles"
)

// options are the command's flags, parsed.
type options struct {
	addr, data, store, seedFile string
	origins, hosts              string
	maxMsg, maxStreams          int
	maxStreamsPerClient         int
	maxConnsPerClient           int
	keepBrowserHeaders          string
	trustForwarded              string
	maxStreamMsgs               int
	maxConcurrentStreams        uint
	muxStreams                  uint
	pingInterval                time.Duration
	writeTimeout, msgTimeout    time.Duration
	tlsCert, tlsKey             string
	backend                     string
	backendTLS                  bool
	backendCA                   string
	backendCert, backendKey     string
	backendServerName           string
	backendHeader               headerFlag
	schema                      protofiles.Sources
	grace                       time.Duration
	level                       string
	metricsAddr                 string
	accessLog                   string
}

// parseFlags reads the flags from args and, for those not on the command
// line, from the environment: PLAYGROUND_ and the flag's name in upper case
// with - as _.
func parseFlags(args []string) (*options, error) {
	var o options
	fs := flag.NewFlagSet("playground", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on, for every protocol")
	fs.StringVar(&o.data, "data", "data/users.db", "the store's file (bbolt), when -store is not set; its folder is created")
	fs.StringVar(&o.store, "store", "", "a PostgreSQL URL, postgres://user:password@host:port/db, for a store that replicas share; empty: the -data file")
	fs.StringVar(&o.seedFile, "seed-file", "", "users to load into a new store (the tutorial's users.json format); default: the tutorial's six")
	fs.StringVar(&o.origins, "allowed-origins", "", "comma-separated browser origins allowed besides the page's own, e.g. https://app.example.com")
	fs.StringVar(&o.hosts, "allowed-hosts", "", "comma-separated host names requests may address; empty: any, but only loopback names on a loopback -addr")
	fs.IntVar(&o.maxMsg, "max-msg-size", server.DefaultMaxMsgSize, "largest message in bytes, in both directions")
	fs.IntVar(&o.maxStreams, "max-streams", server.DefaultMaxStreams, "most calls in flight at once, server-wide, on every protocol (HTTP/2 and WebSocket streams, HTTP/1.1 requests)")
	fs.IntVar(&o.maxStreamsPerClient, "max-streams-per-client", 0, "most calls one client address may have in flight, on every protocol; 0: a sixteenth of -max-streams")
	fs.IntVar(&o.maxConnsPerClient, "max-conns-per-client", listener.DefaultMaxConnsPerClient, "most connections one client address may have open")
	fs.StringVar(&o.keepBrowserHeaders, "keep-browser-headers", "", "comma-separated headers browsers send on their own (cookie, referer, accept-language, user-agent, origin, sec-*) to keep as call metadata, also through the front; none by default")
	fs.StringVar(&o.trustForwarded, "trust-forwarded", "", "comma-separated CIDRs of proxies before a front whose X-Forwarded-For, Forwarded and X-Real-IP it passes on; from anyone else they are replaced by the front's own")
	fs.IntVar(&o.maxStreamMsgs, "max-stream-msgs", server.DefaultMaxStreamMsgs, "most requests in one client or bidi stream")
	fs.UintVar(&o.maxConcurrentStreams, "max-concurrent-streams", server.DefaultMaxConcurrentStreams, "most calls in flight on one HTTP/2 connection")
	fs.UintVar(&o.muxStreams, "mux-streams", server.DefaultMuxStreams, "most calls open at once on one multiplexed WebSocket (grpc-mux.v1)")
	fs.DurationVar(&o.pingInterval, "ping-interval", server.DefaultPingInterval, "how often idle WebSockets and HTTP/2 connections are pinged; below a proxy's idle timeout keeps them open")
	fs.DurationVar(&o.writeTimeout, "write-timeout", server.DefaultWriteTimeout, "how long a client may take to read one write before its call is ended")
	fs.DurationVar(&o.msgTimeout, "message-timeout", server.DefaultMessageTimeout, "how long a request message may take to arrive once begun, plus 1s per 64 KiB")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "PEM certificate file: serve TLS (HTTPS, wss, gRPC over TLS) on -addr; reloaded on change and on SIGHUP")
	fs.StringVar(&o.tlsKey, "tls-key", "", "PEM key file of -tls-cert")
	fs.StringVar(&o.backend, "backend", "", "host:port of a gRPC server to front: its calls, reflection included, are forwarded; no store is opened")
	fs.BoolVar(&o.backendTLS, "backend-tls", false, "dial -backend over TLS, trusting the system's roots (or -backend-ca)")
	fs.StringVar(&o.backendCA, "backend-ca", "", "PEM file of the authorities to trust for -backend (implies -backend-tls)")
	fs.StringVar(&o.backendCert, "backend-cert", "", "PEM client certificate for -backend (mutual TLS; implies -backend-tls)")
	fs.StringVar(&o.backendKey, "backend-key", "", "PEM key file of -backend-cert")
	fs.StringVar(&o.backendServerName, "backend-server-name", "", "the name to verify -backend's certificate against, if not its host")
	fs.Var(&o.backendHeader, "backend-header", "'name: value' metadata added to every forwarded call, reflection included; repeatable (in the environment, one per line)")
	fs.Var((*listFlag)(&o.schema.Protos), "proto", "a .proto `FILE` of the backend's schema, compiled at start; reflection answers from it, for a backend whose own is off. A name under an -import-path, or a path to a file under one; repeatable (in the environment, one per line)")
	fs.Var((*listFlag)(&o.schema.ImportPaths), "import-path", "a `DIR` the -proto files and their imports are found in, as protoc's -I; repeatable (in the environment, one per line); none: the current folder")
	fs.Var((*listFlag)(&o.schema.Protosets), "protoset", "a FileDescriptorSet `FILE` of the backend's schema (.protoset, .binpb, .pb: protoc --include_imports --descriptor_set_out, or buf build -o); reflection answers from it, as from -proto files; repeatable (in the environment, one per line)")
	fs.DurationVar(&o.grace, "shutdown-timeout", 10*time.Second, "how long calls in flight may finish after SIGINT or SIGTERM")
	fs.StringVar(&o.level, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "host:port to serve Prometheus metrics on, at /metrics, on a listener of their own; empty: no metrics")
	fs.StringVar(&o.accessLog, "access-log", "debug", "the level of the access log, a line per call (method, protocol, code, duration, peer, bytes in and out, trace id): debug, info, warn, error, or off; written when -log-level lets that level through")
	if err := setFromEnv(fs, "PLAYGROUND_"); err != nil {
		return nil, err
	}
	if err := fs.Parse(args); err != nil {
		return nil, usageError{err}
	}
	return &o, nil
}

// usageError is a command line the flag package refused, and has said why.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// logger is the command's logger at -log-level.
func (o *options) logger() (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(o.level)); err != nil {
		return nil, fmt.Errorf("-log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl})), nil
}

// serverConfig is the server's Config of the flags.
func (o *options) serverConfig(log *slog.Logger) (server.Config, error) {
	cfg := server.Config{
		AllowedOrigins:       splitList(o.origins),
		AllowedHosts:         splitList(o.hosts),
		MaxMsgSize:           o.maxMsg,
		MaxStreams:           o.maxStreams,
		MaxStreamsPerClient:  o.maxStreamsPerClient,
		MaxConnsPerClient:    o.maxConnsPerClient,
		KeepBrowserHeaders:   splitList(o.keepBrowserHeaders),
		MaxStreamMsgs:        o.maxStreamMsgs,
		MaxConcurrentStreams: uint32(o.maxConcurrentStreams),
		MuxStreams:           uint32(min(o.muxStreams, 1<<31-1)),
		PingInterval:         o.pingInterval,
		WriteTimeout:         o.writeTimeout,
		MessageTimeout:       o.msgTimeout,
		TLSCertFile:          o.tlsCert,
		TLSKeyFile:           o.tlsKey,
		Metrics:              o.metricsAddr != "",
		Logger:               log,
	}
	if o.accessLog == "off" {
		cfg.AccessLog = server.AccessLogOff
	} else {
		var lvl slog.Level
		if err := lvl.UnmarshalText([]byte(o.accessLog)); err != nil {
			return cfg, fmt.Errorf("-access-log: %w (or off)", err)
		}
		cfg.AccessLog = lvl
	}
	if (o.tlsCert == "") != (o.tlsKey == "") {
		return cfg, errors.New("-tls-cert and -tls-key go together")
	}
	if o.backend == "" {
		if o.backendTLS || o.backendCA != "" || o.backendCert != "" || o.backendKey != "" || o.backendServerName != "" || len(o.backendHeader.md) > 0 || o.trustForwarded != "" {
			return cfg, errors.New("the -backend-* and -trust-forwarded flags need -backend")
		}
		return cfg, nil
	}
	b := &front.Backend{Addr: o.backend, Header: o.backendHeader.md}
	for _, cidr := range splitList(o.trustForwarded) {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return cfg, fmt.Errorf("-trust-forwarded: %w", err)
		}
		b.TrustForwarded = append(b.TrustForwarded, p)
	}
	if o.backendTLS || o.backendCA != "" || o.backendCert != "" || o.backendServerName != "" {
		tc := &tls.Config{ServerName: o.backendServerName}
		if o.backendCA != "" {
			pem, err := os.ReadFile(o.backendCA)
			if err != nil {
				return cfg, fmt.Errorf("-backend-ca: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return cfg, fmt.Errorf("-backend-ca: %s holds no PEM certificate", o.backendCA)
			}
		}
		if (o.backendCert == "") != (o.backendKey == "") {
			return cfg, errors.New("-backend-cert and -backend-key go together")
		}
		if o.backendCert != "" {
			cert, err := tls.LoadX509KeyPair(o.backendCert, o.backendKey)
			if err != nil {
				return cfg, fmt.Errorf("-backend-cert: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		b.TLS = tc
	}
	cfg.Backend = b
	return cfg, nil
}

// headerFlag is the repeatable -backend-header 'name: value' flag.
type headerFlag struct{ md metadata.MD }

func (h *headerFlag) String() string { return "" }

// Set adds "name: value" pairs, one per line.
func (h *headerFlag) Set(s string) error {
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		if !ok || name == "" {
			return fmt.Errorf("%q: want 'name: value'", line)
		}
		if h.md == nil {
			h.md = metadata.MD{}
		}
		h.md[name] = append(h.md[name], strings.TrimSpace(value))
	}
	return nil
}

// listFlag is a repeatable flag of strings; from the environment, one per
// line.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

// Set adds the value, or each non-empty line of it.
func (l *listFlag) Set(s string) error {
	for line := range strings.SplitSeq(s, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			*l = append(*l, line)
		}
	}
	return nil
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
