package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	conformancev1 "github.com/grpcplay/playground/pb/conformance/v1"
	"github.com/grpcplay/playground/server"
)

// newServer is our server as the suite tests it: server.New, no store,
// serving Service. It is the one place that knows how a service is put on
// our server.
func newServer(cfg server.Config) (*server.Server, error) {
	srv, err := server.New(cfg, nil)
	if err != nil {
		return nil, err
	}
	srv.RegisterService(&conformancev1.ConformanceService_ServiceDesc, Service{})
	return srv, nil
}

// serveOwn is the server under test of our own server: it reads the
// runner's settings from in, serves Service with them on a loopback port,
// writes where to out, and serves until ctx ends.
func serveOwn(ctx context.Context, in io.Reader, out io.Writer, log *slog.Logger) error {
	req := new(conformancev1.ServerCompatRequest)
	if err := readMessage(in, req); err != nil {
		return fmt.Errorf("read the server's settings: %w", err)
	}
	if len(req.GetClientTlsCert()) > 0 {
		return errors.New("client certificates: our server does not ask for them")
	}
	// The suite's limit is on received messages, as grpc-go's
	// MaxRecvMsgSize is: replies keep the default.
	cfg := server.Config{MaxMsgSize: int(req.GetMessageReceiveLimit()), MaxSendMsgSize: server.DefaultMaxMsgSize, Logger: log}
	resp := &conformancev1.ServerCompatResponse{Host: "127.0.0.1"}
	if req.GetUseTls() {
		dir, err := os.MkdirTemp("", "conformance-tls")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.TLSCertFile, cfg.TLSKeyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
		creds := req.GetServerCreds()
		if err := os.WriteFile(cfg.TLSCertFile, creds.GetCert(), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(cfg.TLSKeyFile, creds.GetKey(), 0o600); err != nil {
			return err
		}
		resp.PemCert = creds.GetCert()
	}
	srv, err := newServer(cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	resp.Port = uint32(ln.Addr().(*net.TCPAddr).Port)
	if err := writeMessage(out, resp); err != nil {
		srv.Shutdown(context.Background())
		return fmt.Errorf("write where the server listens: %w", err)
	}
	select {
	case err := <-served:
		return fmt.Errorf("serve: %v", err)
	case <-ctx.Done():
	}
	stop, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(stop)
	return <-served
}
