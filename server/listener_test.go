package server_test

import (
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// flakyListener fails its first Accepts as a process out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	fails atomic.Int32
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.fails.Add(-1) >= 0 {
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// TestAcceptBacksOff: a temporary Accept failure (EMFILE) does not end the
// server: it waits, tries again, and serves.
func TestAcceptBacksOff(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	flaky := &flakyListener{Listener: ln}
	flaky.fails.Store(5)
	ts := servertest.Start(t, server.Config{}, servertest.WithListener(flaky))
	resp, err := http.Get(ts.URL + "/")
	if err != nil {
		t.Fatalf("after five failed Accepts: %v", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || flaky.fails.Load() >= 0 {
		t.Fatalf("HTTP %d; accepts left to fail %d", resp.StatusCode, flaky.fails.Load())
	}
}
