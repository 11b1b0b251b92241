package server_test

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/wasm/client"
)

// TestMuxKeepaliveIdleProxy holds a muxed stream idle behind a proxy that
// cuts connections silent for 400 ms, for four times that. With the
// server pinging more often than the proxy's timeout the stream survives
// (the client's own pings, every 30 s, are too rare to help); with pings
// rarer than it, the proxy cuts the socket, which shows the pings are what
// kept it.
func TestMuxKeepaliveIdleProxy(t *testing.T) {
	const idle = 400 * time.Millisecond
	for _, tc := range []struct {
		name     string
		ping     time.Duration
		survives bool
	}{
		{"pings within the proxy's timeout", idle / 4, true},
		{"pings rarer than the proxy's timeout", 10 * idle, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := bridgeStart(t, server.Config{PingInterval: tc.ping, PongWait: 10 * idle})
			proxy := startIdleProxy(t, ts.Addr, idle)
			conn := muxDial(t, "http://"+proxy.addr)
			s, err := conn.NewStream(t.Context(), client.StreamDesc{ClientStreams: true, ServerStreams: true}, "/UserManager/GetUsersByIds")
			if err != nil {
				t.Fatal(err)
			}
			roundTrip := func(id uint32) error {
				// SendMsg says io.EOF when the stream has ended; RecvMsg
				// says how.
				if err := s.SendMsg(&pb.UserRequest{Id: id}); err != nil && err != io.EOF {
					return err
				}
				var r pb.UserResponse
				if err := s.RecvMsg(&r); err != nil {
					return err
				}
				if r.GetUser().GetId() != id {
					t.Fatalf("reply %v; want user %d", &r, id)
				}
				return nil
			}
			if err := roundTrip(1); err != nil {
				t.Fatal(err)
			}
			time.Sleep(4 * idle)
			err = roundTrip(2)
			cuts := proxy.cuts.Load()
			switch {
			case tc.survives && (err != nil || cuts != 0):
				t.Fatalf("after %v idle: %v; the proxy cut %d connections", 4*idle, err, cuts)
			case !tc.survives && (status.Code(err) != codes.Unavailable || cuts == 0):
				t.Fatalf("after %v idle without pings: %v, %d cuts; want the proxy to cut the socket (Unavailable)", 4*idle, err, cuts)
			}
		})
	}
}

// idleProxy forwards TCP connections to a target and cuts any pair that
// has been silent both ways for its idle timeout, as load balancers do.
type idleProxy struct {
	addr string
	cuts atomic.Int64
}

func startIdleProxy(t *testing.T, target string, idle time.Duration) *idleProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &idleProxy{addr: ln.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { p.serve(c, target, idle) })
		}
	})
	return p
}

func (p *idleProxy) serve(c net.Conn, target string, idle time.Duration) {
	defer c.Close()
	up, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer up.Close()
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				last.Store(time.Now().UnixNano())
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go pipe(up, c)
	go pipe(c, up)
	tick := time.NewTicker(idle / 8)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			if time.Since(time.Unix(0, last.Load())) >= idle {
				p.cuts.Add(1)
				return // the deferred closes cut both sides
			}
		}
	}
}

// TestMuxKeepaliveSilentClient: a client that answers no ping (it reads
// the socket's bytes but no frame) is cut off once the ping interval and
// the pong wait have passed, and its streams end.
func TestMuxKeepaliveSilentClient(t *testing.T) {
	ts := bridgeStart(t, server.Config{PingInterval: 50 * time.Millisecond, PongWait: 250 * time.Millisecond})
	base := bridgeBaseline(t, ts.Addr)
	c := muxRawDial(t, ts.Addr)
	c.write(muxOpenFrame(t, 1, "/UserManager/GetUsersByIds", false))
	nc := c.ws.NetConn()
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Fatal("the server kept a socket that answered no ping")
		}
	}
	bridgeWaitGoroutines(t, base)
}

// TestMuxSettingsTimeout: a socket whose client sends no SETTINGS within
// the header timeout is closed, as a request whose headers do not come.
func TestMuxSettingsTimeout(t *testing.T) {
	ts := bridgeStart(t, server.Config{HeaderTimeout: 200 * time.Millisecond})
	base := bridgeBaseline(t, ts.Addr)
	c := muxRawOpen(t, ts.Addr, nil)
	nc := c.ws.NetConn()
	nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.Copy(io.Discard, nc); err != nil {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
			t.Fatal("the server kept a socket whose client sent no SETTINGS")
		}
	}
	bridgeWaitGoroutines(t, base)
}
