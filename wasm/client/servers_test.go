//go:build !js

package client_test

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// startServer serves the real playground server, on a fresh store seeded
// with the tutorial's six users, on 127.0.0.1 until the test ends. It
// returns the server's URL.
func startServer(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return startServerOn(t, ln)
}

// startServerOn is startServer on a listener of the caller's.
func startServerOn(t testing.TB, ln net.Listener) string {
	t.Helper()
	return servertest.Start(t, server.Config{}, servertest.WithListener(ln)).URL
}

// peer serves the test methods above.
type peer struct {
	mu    sync.Mutex
	gates map[string]chan struct{}
	up    websocket.Upgrader
}

// startPeer serves a peer on 127.0.0.1 until the test ends and returns its URL.
func startPeer(t testing.TB) string {
	t.Helper()
	p := &peer{gates: map[string]chan struct{}{}, up: websocket.Upgrader{Subprotocols: []string{grpcwire.WebSocketProtocol}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { hs.Serve(ln); close(done) }()
	t.Cleanup(func() {
		hs.Close()
		<-done
	})
	return "http://" + ln.Addr().String()
}

func (p *peer) gate(name string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.gates[name]
	if !ok {
		g = make(chan struct{})
		p.gates[name] = g
	}
	return g
}

// open opens the named gate; opening it twice is no mistake.
func (p *peer) open(name string) {
	g := p.gate(name)
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-g:
	default:
		close(g)
	}
}

// echoMD is the metadata the peer sends back: every x-test-* entry, and
// the request's grpc-timeout as x-seen-grpc-timeout.
func echoMD(req metadata.MD) metadata.MD {
	md := metadata.MD{}
	for k, v := range req {
		if strings.HasPrefix(k, "x-test-") {
			md[k] = v
		}
	}
	if v := grpcwire.First(req, grpcwire.HeaderTimeout); v != "" {
		md["x-seen-grpc-timeout"] = []string{v}
	}
	return md
}

func (p *peer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == peerWSEcho {
		p.serveWS(w, r)
		return
	}
	reqMD := metadata.MD{}
	for k, vs := range r.Header {
		name := strings.ToLower(k)
		for _, v := range vs {
			if dv, err := grpcwire.DecodeValue(name, v); err == nil {
				reqMD[name] = append(reqMD[name], dv)
			}
		}
	}
	f, err := grpcwire.NewRequestReader(r.Body, 1<<20).Next()
	if err != nil || f.IsTrailer() {
		http.Error(w, "want one request frame", http.StatusBadRequest)
		return
	}
	msg := bytes.Clone(f.Payload)
	if r.URL.Path == peerHTTP {
		code, _ := strconv.Atoi(grpcwire.First(reqMD, "x-test-http-status"))
		http.Error(w, "test status", code)
		return
	}
	echo := echoMD(reqMD)
	for k, vs := range echo {
		for _, v := range vs {
			ev, _ := grpcwire.EncodeValue(k, v)
			w.Header().Add(k, ev)
		}
	}
	w.Header().Set("Content-Type", grpcwire.ContentTypeProto)
	if r.URL.Path == peerStatusTwice {
		w.Header().Set(grpcwire.HeaderStatus, "8")
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	switch r.URL.Path {
	case peerEcho:
		w.Write(grpcwire.AppendFrame(nil, grpcwire.FlagData, msg))
	case peerRelease:
		p.open(grpcwire.First(reqMD, "x-test-gate"))
		w.Write(grpcwire.AppendFrame(nil, grpcwire.FlagData, msg))
	case peerGate:
		w.Write(grpcwire.AppendFrame(nil, grpcwire.FlagData, msg))
		rc.Flush()
		select {
		case <-p.gate(grpcwire.First(reqMD, "x-test-gate")):
		case <-r.Context().Done():
			return
		}
		w.Write(grpcwire.AppendFrame(nil, grpcwire.FlagData, msg))
	case peerTwice:
		w.Write(grpcwire.AppendFrame(nil, grpcwire.FlagData, msg))
		w.Write(grpcwire.AppendFrame(nil, grpcwire.FlagData, msg))
	case peerNone:
	case peerStatusTwice:
		w.Write(grpcwire.AppendFrame(nil, grpcwire.FlagData, msg))
	case peerHang:
		rc.Flush()
		<-r.Context().Done()
		p.open(grpcwire.First(reqMD, "x-test-gate"))
		return
	case peerWaitGate:
		select {
		case <-p.gate(grpcwire.First(reqMD, "x-test-gate")):
		case <-time.After(10 * time.Second):
			late := metadata.MD{}
			grpcwire.AppendStatus(late, grpcstatus.New(codes.DeadlineExceeded, "the gate stayed closed"))
			w.Write(grpcwire.AppendFrame(nil, grpcwire.FlagTrailer, grpcwire.AppendHeaderBlock(nil, late)))
			return
		}
		w.Write(grpcwire.AppendFrame(nil, grpcwire.FlagData, msg))
	default:
		unknown := metadata.MD{}
		grpcwire.AppendStatus(unknown, grpcstatus.New(codes.Unimplemented, "unknown test method "+r.URL.Path))
		w.Write(grpcwire.AppendFrame(nil, grpcwire.FlagTrailer, grpcwire.AppendHeaderBlock(nil, unknown)))
		return
	}
	trailers := metadata.MD{grpcwire.HeaderStatus: {"0"}}
	for k, v := range echo {
		trailers[k] = v
	}
	w.Write(grpcwire.AppendFrame(nil, grpcwire.FlagTrailer, grpcwire.AppendHeaderBlock(nil, trailers)))
}

// serveWS echoes a grpc-websockets stream: the metadata in the response
// headers and trailers, each request frame as a response message.
func (p *peer) serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := p.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	_, first, err := c.ReadMessage()
	if err != nil {
		return
	}
	reqMD, err := grpcwire.ParseHeaderBlock(first)
	if err != nil {
		return
	}
	echo := echoMD(reqMD)
	c.WriteMessage(websocket.BinaryMessage, grpcwire.AppendFrame(nil, grpcwire.FlagTrailer, grpcwire.AppendHeaderBlock(nil, echo)))
	for {
		_, m, err := c.ReadMessage()
		if err != nil {
			p.open(grpcwire.First(reqMD, "x-test-gate")) // gone without a half-close
			return
		}
		if len(m) == 1 && m[0] == grpcwire.WSHalfClose {
			break
		}
		// The client under test sends one whole frame per message.
		f, err := grpcwire.NewRequestReader(bytes.NewReader(m[1:]), 1<<20).Next()
		if err != nil {
			return
		}
		// Split the reply in two messages: the client must not care.
		out := grpcwire.AppendFrame(nil, grpcwire.FlagData, f.Payload)
		c.WriteMessage(websocket.BinaryMessage, out[:3])
		c.WriteMessage(websocket.BinaryMessage, out[3:])
	}
	trailers := metadata.MD{grpcwire.HeaderStatus: {"0"}}
	for k, v := range echo {
		trailers[k] = v
	}
	c.WriteMessage(websocket.BinaryMessage, grpcwire.AppendFrame(nil, grpcwire.FlagTrailer, grpcwire.AppendHeaderBlock(nil, trailers)))
	c.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""))
}
