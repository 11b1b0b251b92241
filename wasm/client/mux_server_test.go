//go:build !js

package client_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// muxServer is a small grpc-mux.v1 server built from package grpcwire's
// codec and window accounting, for the client's scenario tests. Its
// methods (muxMethod*) let a test, native or under Node, steer it (gates,
// floods, cancels, GOAWAY, a killed socket, frames the real server never
// sends) and ask what it saw, over the socket itself; and it holds the
// client to the protocol: what the client breaks is recorded, and a test
// fails on it at cleanup (unless it asked for the record). The real server
// (server/grpchttp's mux) is tested with this client in
// server/mux_test.go.
type muxServer struct {
	t        testing.TB
	settings grpcwire.MuxSettings
	up       websocket.Upgrader
	upgrades atomic.Int64
	pings    atomic.Int64
	// silentNext makes the next connection write nothing after its
	// SETTINGS, as a network path that died without a word.
	silentNext atomic.Bool

	mu            sync.Mutex
	conns         []*muxServerConn
	gates         map[string]chan struct{}
	named         map[string]*muxServerStream // streams by x-test-gate
	cancels       map[string]chan codes.Code  // a Hang stream's cancel, by gate
	violations    []string
	clientGoAways []*grpcstatus.Status
	maxOpen       int // the most streams open at once on one connection
}

// startMuxServer serves a muxServer announcing settings on 127.0.0.1
// until the test ends, and returns it and its URL.
func startMuxServer(t testing.TB, settings grpcwire.MuxSettings) (*muxServer, string) {
	t.Helper()
	srv := &muxServer{
		t:        t,
		settings: settings,
		up:       websocket.Upgrader{Subprotocols: []string{grpcwire.MuxProtocol}},
		gates:    map[string]chan struct{}{},
		named:    map[string]*muxServerStream{},
		cancels:  map[string]chan codes.Code{},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() { hs.Serve(ln); close(done) }()
	t.Cleanup(func() {
		hs.Close()
		srv.mu.Lock()
		conns := srv.conns
		srv.mu.Unlock()
		for _, c := range conns {
			c.ws.Close()
		}
		<-done
		for _, v := range srv.takeViolations() {
			t.Errorf("the client broke the protocol: %s", v)
		}
	})
	return srv, "http://" + ln.Addr().String()
}

func (srv *muxServer) violation(format string, a ...any) {
	srv.mu.Lock()
	srv.violations = append(srv.violations, fmt.Sprintf(format, a...))
	srv.mu.Unlock()
}

// takeViolations returns what the client broke so far and forgets it.
func (srv *muxServer) takeViolations() []string {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	v := srv.violations
	srv.violations = nil
	return v
}

func (srv *muxServer) goAways() []*grpcstatus.Status {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.clientGoAways
}

func (srv *muxServer) gate(name string) chan struct{} {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	g, ok := srv.gates[name]
	if !ok {
		g = make(chan struct{})
		srv.gates[name] = g
	}
	return g
}

func (srv *muxServer) open(name string) {
	g := srv.gate(name)
	srv.mu.Lock()
	defer srv.mu.Unlock()
	select {
	case <-g:
	default:
		close(g)
	}
}

func (srv *muxServer) cancelSeen(name string) chan codes.Code {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	ch, ok := srv.cancels[name]
	if !ok {
		ch = make(chan codes.Code, 1)
		srv.cancels[name] = ch
	}
	return ch
}

func (srv *muxServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != grpcwire.MuxPath {
		http.NotFound(w, r)
		return
	}
	ws, err := srv.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	srv.upgrades.Add(1)
	c := &muxServerConn{srv: srv, ws: ws, streams: map[uint32]*muxServerStream{}}
	srv.mu.Lock()
	srv.conns = append(srv.conns, c)
	srv.mu.Unlock()
	c.write(grpcwire.AppendMuxSettings(nil, srv.settings))
	c.silent.Store(srv.silentNext.Swap(false))
	go c.serve()
}

// muxServerConn is one socket.
type muxServerConn struct {
	srv    *muxServer
	ws     *websocket.Conn
	silent atomic.Bool

	wmu sync.Mutex // serializes writes

	mu         sync.Mutex
	peer       grpcwire.MuxSettings
	streams    map[uint32]*muxServerStream
	last       uint32 // the highest stream id opened
	goAwaySent bool
	goAwayLast uint32
	ended      bool
}

// write writes frames as one message; a silent connection drops them.
func (c *muxServerConn) write(frames []byte) error {
	if c.silent.Load() {
		return nil
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteMessage(websocket.BinaryMessage, frames)
}

func (c *muxServerConn) serve() {
	defer c.end()
	r := grpcwire.NewMuxServerReader(nil, c.srv.settings)
	c.ws.SetReadLimit(4 << 20)
	for {
		typ, msg, err := c.ws.NextReader()
		if err != nil {
			return
		}
		if typ != websocket.BinaryMessage {
			c.fail(status.New(codes.InvalidArgument, "a text message"))
			return
		}
		r.Reset(msg)
		for {
			f, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				if st, ok := status.FromError(err); ok {
					c.fail(st)
				}
				return
			}
			if st := c.handle(f); st != nil {
				c.fail(st)
				return
			}
		}
	}
}

// fail records a connection error the client caused, tells it with a
// GOAWAY and closes the socket.
func (c *muxServerConn) fail(st *status.Status) {
	c.srv.violation("%v", st.Message())
	c.write(grpcwire.AppendMuxGoAway(nil, c.last, grpcstatus.FromGRPC(st)))
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseProtocolError, ""), time.Now().Add(time.Second))
}

// end ends every stream of a socket that closed.
func (c *muxServerConn) end() {
	c.ws.Close()
	c.mu.Lock()
	c.ended = true
	streams := c.streams
	c.streams = map[uint32]*muxServerStream{}
	c.mu.Unlock()
	for _, s := range streams {
		s.gone(codes.Unavailable)
	}
}

// kill drops the TCP connection without a word.
func (c *muxServerConn) kill() { c.ws.NetConn().Close() }

// goAway refuses streams after last; the socket closes when the others
// have ended.
func (c *muxServerConn) goAway(last uint32) {
	c.mu.Lock()
	c.goAwaySent, c.goAwayLast = true, last
	idle := len(c.streams) == 0
	c.mu.Unlock()
	c.write(grpcwire.AppendMuxGoAway(nil, last, grpcstatus.New(codes.OK, "")))
	if idle {
		c.closeGoingAway()
	}
}

func (c *muxServerConn) closeGoingAway() {
	c.wmu.Lock()
	c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, ""), time.Now().Add(time.Second))
	c.wmu.Unlock()
}

func (c *muxServerConn) handle(f grpcwire.MuxFrame) *status.Status {
	srv := c.srv
	switch f.Type {
	case grpcwire.MuxTypeSettings:
		c.mu.Lock()
		c.peer = f.Settings()
		c.mu.Unlock()
		return nil
	case grpcwire.MuxTypePing:
		srv.pings.Add(1)
		if !f.Ack() {
			c.write(grpcwire.AppendMuxPing(nil, true, f.PingData()))
		}
		return nil
	case grpcwire.MuxTypeGoAway:
		_, st := f.GoAway()
		srv.mu.Lock()
		srv.clientGoAways = append(srv.clientGoAways, st)
		srv.mu.Unlock()
		return nil
	case grpcwire.MuxTypeHeaders:
		return c.openStream(f)
	}
	c.mu.Lock()
	s := c.streams[f.Stream]
	known := f.Stream <= c.last
	c.mu.Unlock()
	if !known {
		return status.Newf(codes.InvalidArgument, "%v frame for stream %d, which was never opened", f.Type, f.Stream)
	}
	if s == nil {
		return nil // ended while the frame was on its way
	}
	switch f.Type {
	case grpcwire.MuxTypeData:
		return s.receive(f.Payload, f.EndStream())
	case grpcwire.MuxTypeCancel:
		s.gone(f.Status().Code())
		c.remove(s)
	case grpcwire.MuxTypeWindowUpdate:
		s.mu.Lock()
		err := s.sendWin.Grant(f.Increment())
		s.cond.Broadcast()
		s.mu.Unlock()
		if err != nil {
			return status.Convert(err)
		}
	}
	return nil
}

func (c *muxServerConn) openStream(f grpcwire.MuxFrame) *status.Status {
	c.mu.Lock()
	if f.Stream <= c.last {
		c.mu.Unlock()
		return status.Newf(codes.InvalidArgument, "HEADERS for stream %d, not above the last stream %d", f.Stream, c.last)
	}
	c.last = f.Stream
	refused := c.goAwaySent && f.Stream > c.goAwayLast
	full := uint32(len(c.streams)) >= c.srv.settings.MaxStreams
	peer := c.peer
	c.mu.Unlock()
	if refused {
		return nil // after our GOAWAY: never run
	}
	if full {
		c.srv.violation("stream %d opened with %d streams open", f.Stream, c.srv.settings.MaxStreams)
		c.write(grpcwire.AppendMuxCancel(nil, f.Stream, grpcstatus.New(codes.ResourceExhausted, "too many streams")))
		return nil
	}
	method, md, err := grpcwire.ParseMuxOpen(f.Payload)
	ctx, cancel := context.WithCancel(context.Background())
	s := &muxServerStream{
		c: c, id: f.Stream, method: method, md: md, ctx: ctx, cancel: cancel,
		sendWin: grpcwire.NewMuxSendWindow(peer.InitialWindow),
		recvWin: grpcwire.NewMuxRecvWindow(c.srv.settings.InitialWindow),
		peer:    peer, halfClosed: f.EndStream(),
	}
	s.cond = sync.NewCond(&s.mu)
	s.frames = grpcwire.NewRequestReader(s, 4<<20)
	c.mu.Lock()
	c.streams[s.id] = s
	c.srv.mu.Lock()
	c.srv.maxOpen = max(c.srv.maxOpen, len(c.streams))
	c.srv.mu.Unlock()
	c.mu.Unlock()
	if err != nil {
		go s.finish(err)
		return nil
	}
	go func() { s.finish(c.srv.serve(s)) }()
	return nil
}

// remove takes an ended stream off the socket, which closes once its
// streams are done after a GOAWAY.
func (c *muxServerConn) remove(s *muxServerStream) {
	c.mu.Lock()
	if c.streams[s.id] != s {
		c.mu.Unlock()
		return
	}
	delete(c.streams, s.id)
	closeNow := c.goAwaySent && len(c.streams) == 0
	c.mu.Unlock()
	if closeNow {
		c.closeGoingAway()
	}
}

// muxServerStream is one call on the test server.
type muxServerStream struct {
	c      *muxServerConn
	id     uint32
	method string
	md     metadata.MD
	ctx    context.Context
	cancel context.CancelFunc
	peer   grpcwire.MuxSettings
	frames *grpcwire.Reader

	mu         sync.Mutex
	cond       *sync.Cond
	in         [][]byte
	buffered   int // request bytes received, not yet read
	halfClosed bool
	cancelled  bool
	cancelCode codes.Code
	recvWin    grpcwire.MuxRecvWindow
	sendWin    grpcwire.MuxSendWindow
	headerSent bool
	sent       int // response DATA bytes sent
}

// receive takes a DATA payload.
func (s *muxServerStream) receive(p []byte, end bool) *status.Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.halfClosed {
		s.c.srv.violation("DATA on stream %d after END_STREAM", s.id)
		return nil
	}
	if err := s.recvWin.Receive(len(p)); err != nil {
		return status.Convert(err)
	}
	if len(p) > 0 {
		s.in = append(s.in, append([]byte(nil), p...))
		s.buffered += len(p)
	}
	s.halfClosed = end
	s.cond.Broadcast()
	return nil
}

// gone ends a stream the client cancelled (or whose socket ended).
func (s *muxServerStream) gone(code codes.Code) {
	s.mu.Lock()
	if !s.cancelled {
		s.cancelled, s.cancelCode = true, code
	}
	s.cond.Broadcast()
	s.mu.Unlock()
	s.cancel()
}

// Read implements io.Reader for the stream's frame reader.
func (s *muxServerStream) Read(p []byte) (int, error) {
	s.mu.Lock()
	for len(s.in) == 0 && !s.halfClosed && !s.cancelled {
		s.cond.Wait()
	}
	switch {
	case s.cancelled:
		s.mu.Unlock()
		return 0, status.Error(codes.Canceled, "the client cancelled")
	case len(s.in) == 0:
		s.mu.Unlock()
		return 0, io.EOF
	}
	n := copy(p, s.in[0])
	if n == len(s.in[0]) {
		s.in = s.in[1:]
	} else {
		s.in[0] = s.in[0][n:]
	}
	s.buffered -= n
	inc := s.recvWin.Consume(n)
	s.mu.Unlock()
	if inc > 0 {
		s.c.write(grpcwire.AppendMuxWindowUpdate(nil, s.id, inc))
	}
	return n, nil
}

// recv receives the next request into m; io.EOF after the half-close.
func (s *muxServerStream) recv(m proto.Message) error {
	f, err := s.frames.Next()
	if err != nil {
		return err
	}
	return proto.Unmarshal(f.Payload, m)
}

func (s *muxServerStream) sendHeader(md metadata.MD) {
	if s.headerSent {
		return
	}
	s.headerSent = true
	h := metadata.Join(md, metadata.MD{grpcwire.HeaderContentType: {grpcwire.ContentTypeProto}})
	b, _ := grpcwire.AppendMuxHeaderBlock(nil, grpcwire.MuxTypeHeaders, s.id, h, s.peer.MaxHeaderSize)
	s.c.write(b)
}

// send sends m as DATA within the client's window and frame size,
// waiting for window as it must.
func (s *muxServerStream) send(m proto.Message) error {
	s.sendHeader(nil)
	msg, _ := proto.Marshal(m)
	b := grpcwire.AppendFrame(nil, grpcwire.FlagData, msg)
	for len(b) > 0 {
		s.mu.Lock()
		for s.sendWin.Available() == 0 && !s.cancelled {
			s.cond.Wait()
		}
		if s.cancelled {
			s.mu.Unlock()
			return status.Error(codes.Canceled, "the client cancelled")
		}
		n := s.sendWin.Take(min(len(b), int(s.peer.MaxFrameSize)))
		s.sent += n
		s.mu.Unlock()
		if err := s.c.write(grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeData, 0, s.id, b[:n])); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// finish sends the trailers (or, for a refused stream, nothing), unless
// the client cancelled.
func (s *muxServerStream) finish(err error) {
	defer s.c.remove(s)
	defer s.cancel()
	if err == errStreamEnded {
		return
	}
	s.mu.Lock()
	cancelled := s.cancelled
	s.mu.Unlock()
	if cancelled {
		return
	}
	tr := echoMD(s.md)
	st := grpcstatus.Convert(err)
	grpcwire.AppendStatus(tr, st)
	if !s.headerSent {
		tr[grpcwire.HeaderContentType] = []string{grpcwire.ContentTypeProto}
	}
	b, _ := grpcwire.AppendMuxHeaderBlock(nil, grpcwire.MuxTypeTrailers, s.id, tr, s.peer.MaxHeaderSize)
	s.c.write(b)
}

// errStreamEnded is what a method returns when it ended the stream itself.
var errStreamEnded = fmt.Errorf("the method ended the stream itself")

// serve runs the stream's method and returns its status (nil: OK).
func (srv *muxServer) serve(s *muxServerStream) error {
	gateName := grpcwire.First(s.md, "x-test-gate")
	if s.method == muxMethodSink || s.method == muxMethodFlood { // the streams probes ask about
		srv.mu.Lock()
		srv.named[gateName] = s
		srv.mu.Unlock()
	}
	switch s.method {
	case muxMethodEcho:
		h := echoMD(s.md)
		if v := grpcwire.First(s.md, grpcwire.HeaderTimeout); v != "" {
			h["x-seen-grpc-timeout"] = []string{v}
		}
		s.sendHeader(h)
		for {
			m := new(pb.User)
			if err := s.recv(m); err == io.EOF {
				return nil
			} else if err != nil {
				return err
			}
			if err := s.send(m); err != nil {
				return err
			}
		}
	case muxMethodCount, muxMethodSink:
		if s.method == muxMethodSink {
			select {
			case <-srv.gate(gateName):
			case <-s.ctx.Done():
				return errStreamEnded
			}
		}
		n := uint32(0)
		for {
			err := s.recv(new(pb.User))
			if err == io.EOF {
				return s.send(&pb.UserRequest{Id: n})
			}
			if err != nil {
				return err
			}
			n++
		}
	case muxMethodFlood:
		count, _ := strconv.Atoi(grpcwire.First(s.md, "x-test-count"))
		size, _ := strconv.Atoi(grpcwire.First(s.md, "x-test-size"))
		for i := range count {
			if err := s.send(&pb.User{Id: uint32(i), Nickname: strings.Repeat("x", size)}); err != nil {
				return err
			}
		}
		return nil
	case muxMethodFail:
		code, _ := strconv.Atoi(grpcwire.First(s.md, "x-test-code"))
		return status.Error(codes.Code(code), "failed as asked")
	case muxMethodCancel:
		s.c.write(grpcwire.AppendMuxCancel(nil, s.id, grpcstatus.New(codes.ResourceExhausted, "the server cancelled")))
		return errStreamEnded
	case muxMethodHang:
		<-s.ctx.Done()
		s.mu.Lock()
		code := s.cancelCode
		s.mu.Unlock()
		srv.cancelSeen(gateName) <- code
		return errStreamEnded
	case muxMethodCancelled:
		select {
		case code := <-srv.cancelSeen(gateName):
			return s.send(&pb.UserRequest{Id: uint32(code)})
		case <-time.After(10 * time.Second):
			return status.Error(codes.DeadlineExceeded, "the Hang stream was not cancelled")
		}
	case muxMethodBuffered, muxMethodSent:
		srv.mu.Lock()
		other := srv.named[gateName]
		srv.mu.Unlock()
		if other == nil {
			return status.Error(codes.NotFound, "no stream "+gateName)
		}
		other.mu.Lock()
		n := other.buffered
		if s.method == muxMethodSent {
			n = other.sent
		}
		other.mu.Unlock()
		return s.send(&pb.UserRequest{Id: uint32(n)})
	case muxMethodRelease:
		srv.open(gateName)
		return s.send(&pb.UserRequest{})
	case muxMethodUpgrades:
		return s.send(&pb.UserRequest{Id: uint32(srv.upgrades.Load())})
	case muxMethodKill:
		s.c.kill()
		return errStreamEnded
	case muxMethodGoAway:
		s.c.goAway(s.id - 2)
		return errStreamEnded
	case muxMethodOverflow:
		s.sendHeader(nil)
		// One message of 1 MiB announced, so the client waits for its
		// bytes rather than reading messages out of the zeros.
		chunk := make([]byte, s.peer.MaxFrameSize)
		grpcwire.AppendPrefix(chunk[:0], grpcwire.FlagData, 1<<20)
		for sent := 0; sent <= int(s.peer.InitialWindow); sent += len(chunk) {
			if err := s.c.write(grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeData, 0, s.id, chunk)); err != nil {
				break
			}
		}
		return errStreamEnded
	case muxMethodBadHeaders:
		s.c.write(grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeHeaders, 0, s.id, []byte("no colon here\r\n")))
		return errStreamEnded
	}
	return status.Error(codes.Unimplemented, "unknown method "+s.method)
}
