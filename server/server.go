// Package server is the playground's back end: the UserManager service on a
// Store, served on one port as native gRPC (HTTP/2 with prior knowledge),
// gRPC-Web over HTTP/1.1, a grpc-websockets bridge for client and
// bidirectional streaming from browsers, and the embedded page.
package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/improbable-eng/grpc-web/go/grpcweb"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/store"
	"github.com/grpcplay/playground/static"
)

// Defaults for Config's zero values.
const (
	DefaultMaxMsgSize = 4 << 20 // gRPC's own default
	DefaultMaxStreams = 4096
)

// Config tunes a Server. The zero value of each field picks its default.
type Config struct {
	// AllowedOrigins are the browser origins besides the page's own that may
	// call the API (CORS for gRPC-Web, the handshake check for the bridge).
	AllowedOrigins []string
	// MaxMsgSize bounds one message, in bytes, in both directions.
	MaxMsgSize int
	// MaxStreams bounds the WebSocket streams open at once, server-wide.
	MaxStreams int
	// MaxStreamMsgs bounds the requests of one client or bidi stream.
	MaxStreamMsgs int
	// Assets are the page files; nil serves the embedded static.FS.
	Assets fs.FS
	// Logger receives the server's logs; nil uses slog.Default().
	Logger *slog.Logger
}

// Server serves the playground on one listener. Create it with New, run it
// with Serve, stop it with Shutdown.
type Server struct {
	log *slog.Logger
	// native serves HTTP/2 connections from the port; webGRPC serves the
	// same services behind the gRPC-Web wrapper. Two servers, so that
	// Shutdown can drain native connections while gRPC-Web calls finish:
	// a grpc.Server's GracefulStop cuts off the calls it serves through
	// ServeHTTP.
	native  *grpc.Server
	webGRPC *grpc.Server
	reg     *registry
	replies *replies
	health  *health.Server
	// webCalls serves binary gRPC-Web from the page's origin and from
	// non-browser clients; wrapper, improbable-eng's, the text encoding and
	// cross-origin calls.
	webCalls *webCalls
	wrapper  *grpcweb.WrappedGrpcServer
	bridge   *bridge
	assets   *assets
	origin   originPolicy
	http     *http.Server

	mu    sync.Mutex
	split *portSplitter
}

// New builds a Server for the UserManager service on st. The caller keeps
// ownership of st and closes it after Shutdown.
func New(cfg Config, st store.Store) (*Server, error) {
	if cfg.MaxMsgSize <= 0 {
		cfg.MaxMsgSize = DefaultMaxMsgSize
	}
	if cfg.MaxStreams <= 0 {
		cfg.MaxStreams = DefaultMaxStreams
	}
	if cfg.Assets == nil {
		cfg.Assets = static.FS
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	files, err := newAssets(cfg.Assets)
	if err != nil {
		return nil, fmt.Errorf("server: read page assets: %w", err)
	}
	limits := []grpc.ServerOption{grpc.MaxRecvMsgSize(cfg.MaxMsgSize), grpc.MaxSendMsgSize(cfg.MaxMsgSize)}
	s := &Server{
		log:     cfg.Logger,
		native:  grpc.NewServer(limits...),
		webGRPC: grpc.NewServer(limits...),
		health:  health.NewServer(),
		assets:  files,
		origin:  newOriginPolicy(cfg.AllowedOrigins),
	}
	s.reg = newRegistry(s.native, s.webGRPC)
	s.replies = newReplies(cfg.MaxMsgSize)
	pb.RegisterUserManagerServer(s.reg, NewService(st, cfg.MaxStreamMsgs))
	healthpb.RegisterHealthServer(s.reg, s.health)
	reflection.Register(s.reg)
	s.health.SetServingStatus(pb.UserManager_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)

	s.webCalls = &webCalls{reg: s.reg, replies: s.replies, log: s.log, writeTimeout: defaultWriteTimeout}
	s.wrapper = grpcweb.WrapServer(s.webGRPC,
		grpcweb.WithOriginFunc(s.origin.isListed),
		grpcweb.WithWebsockets(false), // our own bridge serves grpc-websockets
	)
	s.bridge = newBridge(s.reg, s.replies, bridgeConfig{
		maxMsgSize: cfg.MaxMsgSize,
		maxStreams: cfg.MaxStreams,
		origin:     s.origin,
	}, s.log)
	s.http = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// ServeHTTP routes an HTTP/1.1 request: a grpc-websockets handshake to the
// bridge, binary gRPC-Web to our own handler, the rest of gRPC-Web (text
// encoding, cross-origin calls and their CORS preflight) to improbable-eng's
// wrapper, anything else to the page assets. Native gRPC never gets here:
// Serve hands HTTP/2 connections to the gRPC server's own transport.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case isWebSocketUpgrade(r):
		s.bridge.ServeHTTP(w, r)
	case s.webCalls.serves(r):
		s.webCalls.ServeHTTP(w, r)
	case s.wrapper.IsGrpcWebRequest(r) || s.wrapper.IsAcceptableGrpcCorsRequest(r):
		s.wrapper.ServeHTTP(w, r)
	default:
		s.assets.ServeHTTP(w, r)
	}
}

func isWebSocketUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// Serve serves every protocol on ln until Shutdown, and then returns nil.
func (s *Server) Serve(ln net.Listener) error {
	split := splitPort(ln)
	s.mu.Lock()
	if s.split != nil {
		s.mu.Unlock()
		return errors.New("server: Serve called twice")
	}
	s.split = split
	s.mu.Unlock()

	errc := make(chan error, 2)
	go func() { errc <- s.native.Serve(split.h2) }()
	go func() { errc <- s.http.Serve(split.h1) }()
	err := split.run()
	for range 2 {
		if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && !errors.Is(e, net.ErrClosed) && !errors.Is(e, grpc.ErrServerStopped) {
			s.log.Error("serve", "err", e)
		}
	}
	if errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting connections, reports NOT_SERVING, and lets calls
// in flight finish until ctx ends, on every protocol; then it cuts the rest
// off. It returns ctx's error if it had to cut calls off.
func (s *Server) Shutdown(ctx context.Context) error {
	s.health.Shutdown()
	s.mu.Lock()
	if s.split != nil {
		s.split.close()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		var wg sync.WaitGroup
		wg.Go(s.native.GracefulStop)
		wg.Go(func() {
			// gRPC-Web calls are HTTP/1.1 requests, which http.Shutdown
			// waits for; the server behind the wrapper stops after them.
			s.http.Shutdown(ctx)
			s.webGRPC.Stop()
		})
		wg.Go(func() { s.bridge.shutdown(ctx) })
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.native.Stop()
		s.http.Close()
		s.webGRPC.Stop()
		<-done
		return ctx.Err()
	}
}
