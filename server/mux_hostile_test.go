package server_test

import (
	"encoding/binary"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/servertest"
)

// TestMuxConnectionErrors breaks the protocol in each way MUX.md's table
// names a connection error: the server answers each with a GOAWAY saying
// what was wrong and closes the socket with the table's code.
func TestMuxConnectionErrors(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, server.Config{}, servertest.WithService(bridgeProbeDesc(), probe))
	base := bridgeBaseline(t, ts.Addr)
	hold := "/bridgetest.Probe/Hold"
	winUpdate := func(id, inc uint32) []byte {
		return grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeWindowUpdate, 0, id, binary.BigEndian.AppendUint32(nil, inc))
	}
	tests := []struct {
		name      string
		send      func(c *muxRaw)
		code      codes.Code
		msg       string
		closeCode int
	}{
		{"DATA on a stream never opened", func(c *muxRaw) {
			c.write(muxDataFrame(t, 5, &pb.UserRequest{Id: 1}, true))
		}, codes.InvalidArgument, "never opened", websocket.CloseProtocolError},
		{"WINDOW_UPDATE on a stream never opened", func(c *muxRaw) {
			c.write(muxOpenFrame(t, 1, hold, false), winUpdate(3, 1))
		}, codes.InvalidArgument, "never opened", websocket.CloseProtocolError},
		{"reused stream id", func(c *muxRaw) {
			c.write(muxOpenFrame(t, 3, hold, false), muxOpenFrame(t, 3, hold, false))
		}, codes.InvalidArgument, "not above", websocket.CloseProtocolError},
		{"decreasing stream id", func(c *muxRaw) {
			c.write(muxOpenFrame(t, 7, hold, false), muxOpenFrame(t, 5, hold, false))
		}, codes.InvalidArgument, "not above", websocket.CloseProtocolError},
		{"even stream id", func(c *muxRaw) {
			c.write(muxOpenFrame(t, 2, hold, false))
		}, codes.InvalidArgument, "even", websocket.CloseProtocolError},
		{"window overflow", func(c *muxRaw) {
			c.write(muxOpenFrame(t, 1, hold, false), winUpdate(1, grpcwire.MuxMaxWindow))
		}, codes.ResourceExhausted, "past", websocket.CloseProtocolError},
		{"negative window update", func(c *muxRaw) {
			c.write(muxOpenFrame(t, 1, hold, false), winUpdate(1, 1<<31))
		}, codes.InvalidArgument, "WINDOW_UPDATE", websocket.CloseProtocolError},
		{"zero window update", func(c *muxRaw) {
			c.write(muxOpenFrame(t, 1, hold, false), winUpdate(1, 0))
		}, codes.InvalidArgument, "WINDOW_UPDATE", websocket.CloseProtocolError},
		{"DATA beyond the window", func(c *muxRaw) {
			// Hold reads nothing: five frames of 16 KiB are one more than
			// the 64 KiB window.
			c.write(muxOpenFrame(t, 1, hold, false))
			chunk := make([]byte, 16<<10)
			for range 5 {
				c.write(grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeData, 0, 1, chunk))
			}
		}, codes.ResourceExhausted, "window", websocket.CloseProtocolError},
		{"unknown frame type", func(c *muxRaw) {
			c.write(grpcwire.AppendMuxFrame(nil, 0x9, 0, 1, nil))
		}, codes.InvalidArgument, "unknown frame type", websocket.CloseProtocolError},
		{"second SETTINGS", func(c *muxRaw) {
			c.write(grpcwire.AppendMuxSettings(nil, muxRawClientSettings))
		}, codes.InvalidArgument, "second SETTINGS", websocket.CloseProtocolError},
		{"HEADERS over MAX_HEADER_SIZE", func(c *muxRaw) {
			c.write(grpcwire.AppendMuxHeader(nil, grpcwire.MuxTypeHeaders, 0, 1, 1<<20))
		}, codes.ResourceExhausted, "over the limit", websocket.CloseMessageTooBig},
		{"ping flood", func(c *muxRaw) {
			var pings []byte
			for range 20 {
				pings = grpcwire.AppendMuxPing(pings, false, [8]byte{})
			}
			c.write(pings)
		}, codes.ResourceExhausted, "PINGs", websocket.ClosePolicyViolation},
		{"text message", func(c *muxRaw) {
			c.ws.WriteMessage(websocket.TextMessage, []byte("hello"))
		}, codes.InvalidArgument, "text message", websocket.CloseUnsupportedData},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := muxRawDial(t, ts.Addr)
			tc.send(c)
			c.wantGoAway(tc.code, tc.msg, tc.closeCode)
		})
	}
	t.Run("first frame not SETTINGS", func(t *testing.T) {
		c := muxRawOpen(t, ts.Addr, nil)
		c.write(grpcwire.AppendMuxPing(nil, false, [8]byte{}))
		if f := c.next(); f.Type != grpcwire.MuxTypeSettings {
			t.Fatalf("the server's first frame is %v", f.Type)
		}
		c.wantGoAway(codes.InvalidArgument, "first frame must be SETTINGS", websocket.CloseProtocolError)
	})
	for len(probe.ended) > 0 {
		<-probe.ended
	}
	bridgeWaitGoroutines(t, base)
}

// TestMuxStreamErrors: what MUX.md calls stream errors ends one call, with
// a status, and the socket goes on.
func TestMuxStreamErrors(t *testing.T) {
	ts := bridgeStart(t, server.Config{MaxMsgSize: 1 << 10}, servertest.WithService(bridgeProbeDesc(), newBridgeProbe()))
	c := muxRawDial(t, ts.Addr)
	tests := []struct {
		name string
		send func(id uint32) [][]byte
		code codes.Code
		msg  string
	}{
		{"malformed method", func(id uint32) [][]byte {
			return [][]byte{grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeHeaders, grpcwire.MuxFlagEndStream, id, []byte("no method\r\n"))}
		}, codes.InvalidArgument, "method"},
		{"malformed header block", func(id uint32) [][]byte {
			return [][]byte{grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeHeaders, grpcwire.MuxFlagEndStream, id, []byte("/UserManager/GetUser\r\nno colon\r\n"))}
		}, codes.InvalidArgument, "header"},
		{"unknown method", func(id uint32) [][]byte {
			return [][]byte{muxOpenFrame(t, id, "/UserManager/Nope", true)}
		}, codes.Unimplemented, "Nope"},
		{"DATA after END_STREAM", func(id uint32) [][]byte {
			// Hold reads nothing and waits for its end: the stream is open
			// when the DATA comes.
			return [][]byte{muxOpenFrame(t, id, "/bridgetest.Probe/Hold", true), muxDataFrame(t, id, &pb.UserRequest{Id: 99}, false)}
		}, codes.InvalidArgument, "after END_STREAM"},
		{"message over the size limit", func(id uint32) [][]byte {
			return [][]byte{muxOpenFrame(t, id, "/UserManager/AddUser", false), muxDataFrame(t, id, &pb.User{Nickname: string(make([]byte, 2<<10))}, true)}
		}, codes.ResourceExhausted, "larger than max"},
		{"bad grpc-timeout", func(id uint32) [][]byte {
			b, _ := grpcwire.AppendMuxOpen(nil, id, "/UserManager/GetUser", map[string][]string{"grpc-timeout": {"soon"}}, true, 64<<10)
			return [][]byte{b}
		}, codes.InvalidArgument, "timeout"},
	}
	id := uint32(1)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer func() { id += 2 }()
			c.write(tc.send(id)...)
			st, _ := c.wantEnd(id)
			if st.Code() != tc.code || !containsFold(st.Message(), tc.msg) {
				t.Fatalf("status %v %q; want %v with %q", st.Code(), st.Message(), tc.code, tc.msg)
			}
		})
	}
	// The socket still serves.
	c.write(muxOpenFrame(t, id, "/UserManager/GetUser", false), muxDataFrame(t, id, &pb.UserRequest{Id: 2}, true))
	if st, msgs := c.wantEnd(id); st.Code() != codes.OK || len(msgs) != 1 {
		t.Fatalf("after the stream errors: %v, %d messages", st, len(msgs))
	}
}

// TestMuxLimits: each stream counts against the client's share of the
// server's calls, as a call of any other protocol does.
func TestMuxLimits(t *testing.T) {
	probe := newBridgeProbe()
	ts := bridgeStart(t, server.Config{MaxStreamsPerClient: 3}, servertest.WithService(bridgeProbeDesc(), probe))
	c := muxRawDial(t, ts.Addr)
	for id := uint32(1); id <= 9; id += 2 {
		c.write(muxOpenFrame(t, id, "/bridgetest.Probe/Hold", false))
	}
	holding := 0
	for refused := 0; refused < 2; {
		switch f := c.next(); f.Type {
		case grpcwire.MuxTypeData:
			holding++
		case grpcwire.MuxTypeTrailers:
			md, _ := grpcwire.ParseHeaderBlock(f.Payload)
			if st := grpcwire.StatusFromTrailers(md); st.Code() != codes.ResourceExhausted || !strings.Contains(st.Message(), "calls in flight") {
				t.Fatalf("stream %d: %v; want ResourceExhausted, the client's share", f.Stream, st)
			}
			refused++
		}
	}
	for holding < 3 {
		if c.next().Type == grpcwire.MuxTypeData {
			holding++
		}
	}
}

// TestMuxThousandsOfStreams opens many more streams than a socket may
// hold, cancels and reopens them in storms, and checks each is answered,
// what the server holds stays bounded, and every handler ends.
func TestMuxThousandsOfStreams(t *testing.T) {
	probe := &bridgeProbe{ended: make(chan error, 100000)}
	// A client's share of the server's calls is more than a socket's
	// MAX_STREAMS, so that cancelled handlers still ending do not refuse
	// the storm's new streams (TestMuxLimits shows the share applies).
	ts := bridgeStart(t, server.Config{MaxStreamsPerClient: 4096}, servertest.WithService(bridgeProbeDesc(), probe))
	base := bridgeBaseline(t, ts.Addr)
	heap0 := heapInUse()
	c := muxRawDial(t, ts.Addr)
	maxStreams := c.peer.MaxStreams
	const opens = 5000
	var batch [][]byte
	for i := range uint32(opens) {
		batch = append(batch, muxOpenFrame(t, 2*i+1, "/bridgetest.Probe/Hold", false))
		if len(batch) == 500 {
			c.write(batch...)
			batch = nil
		}
	}
	// Every stream gets an answer: the first maxStreams a reply
	// ("holding"), the others a CANCEL.
	holding, refused := 0, 0
	for holding+refused < opens {
		f := c.next()
		switch f.Type {
		case grpcwire.MuxTypeData:
			holding++
		case grpcwire.MuxTypeCancel:
			if st := f.Status(); st.Code() != codes.ResourceExhausted {
				t.Fatalf("CANCEL %v; want ResourceExhausted", st)
			}
			refused++
		case grpcwire.MuxTypeTrailers:
			md, _ := grpcwire.ParseHeaderBlock(f.Payload)
			t.Fatalf("stream %d ended: %v", f.Stream, grpcwire.StatusFromTrailers(md))
		}
	}
	if holding != int(maxStreams) {
		t.Fatalf("%d streams ran; want MAX_STREAMS, %d", holding, maxStreams)
	}
	heapHeld := heapInUse() - heap0
	t.Logf("%d streams open, %d refused: %d KiB of heap", holding, refused, heapHeld>>10)
	if limit := int64(maxStreams) * 64 << 10; heapHeld > limit {
		t.Errorf("the server holds %d KiB for %d open streams; more than a window each (%d KiB)", heapHeld>>10, maxStreams, limit>>10)
	}

	// Cancel storms: cancel every open stream and open as many anew, ten
	// times; each new one runs, so the cancels were counted.
	next := uint32(2*opens + 1)
	open := make([]uint32, 0, maxStreams)
	for i := range maxStreams {
		open = append(open, 2*i+1)
	}
	for range 10 {
		var frames [][]byte
		for _, id := range open {
			frames = append(frames, grpcwire.AppendMuxCancel(nil, id, grpcstatus.New(codes.Canceled, "storm")))
		}
		open = open[:0]
		for range maxStreams {
			frames = append(frames, muxOpenFrame(t, next, "/bridgetest.Probe/Hold", false))
			open = append(open, next)
			next += 2
		}
		for len(frames) > 0 {
			n := min(len(frames), 400)
			c.write(frames[:n]...)
			frames = frames[n:]
		}
		for ran := 0; ran < int(maxStreams); {
			switch f := c.next(); f.Type {
			case grpcwire.MuxTypeData:
				ran++
			case grpcwire.MuxTypeCancel, grpcwire.MuxTypeTrailers:
				t.Fatalf("stream %d ended by the server (%v) in a cancel storm", f.Stream, f.Type)
			}
		}
	}
	c.ws.Close()
	bridgeWaitGoroutines(t, base)
}

// TestMuxNeverRead opens streams that flood replies on a socket whose
// client never reads: the server's writes time out, the socket closes,
// every handler ends, and the heap held meanwhile stays bounded.
func TestMuxNeverRead(t *testing.T) {
	probe := &bridgeProbe{ended: make(chan error, 1000)}
	cfg := server.Config{WriteTimeout: 300 * time.Millisecond, PingInterval: 100 * time.Millisecond, PongWait: 300 * time.Millisecond}
	ts := bridgeStart(t, cfg, servertest.WithService(bridgeProbeDesc(), probe))
	base := bridgeBaseline(t, ts.Addr)
	heap0 := heapInUse()
	c := muxRawDial(t, ts.Addr)
	const streams = 64
	var frames [][]byte
	for i := range uint32(streams) {
		frames = append(frames, muxOpenFrame(t, 2*i+1, "/bridgetest.Probe/Flood", false), muxDataFrame(t, 2*i+1, &pb.UserRequest{Id: 1}, true))
	}
	c.write(frames...)
	for range streams {
		if err := <-probe.ended; status.Code(err) == codes.OK {
			t.Fatalf("a flood ended with %v", err)
		}
	}
	heapHeld := heapInUse() - heap0
	t.Logf("%d floods sent %d messages of 16 KiB before the socket was cut: %d KiB of heap", streams, probe.sent.Load(), heapHeld>>10)
	// At most a window per stream was sent, plus the writer's queue.
	if maxSent := int64(streams) * (64<<10/bridgeFloodSize + 1); probe.sent.Load() > maxSent {
		t.Errorf("the floods sent %d messages; the windows allow %d", probe.sent.Load(), maxSent)
	}
	bridgeWaitGoroutines(t, base)
}

// heapInUse returns the bytes of live heap, after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapAlloc)
}

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// TestMuxMessageTimeout: a request message that trickles in more slowly
// than the message timeout ends its call with DeadlineExceeded, as on
// every path; a client stream may wait as long as it likes between
// messages.
func TestMuxMessageTimeout(t *testing.T) {
	const timeout = 200 * time.Millisecond
	ts := bridgeStart(t, server.Config{MessageTimeout: timeout})
	c := muxRawDial(t, ts.Addr)
	partial := func(id uint32) []byte {
		// A prefix announcing 100 bytes, and 10 of them.
		return grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeData, 0, id, append(grpcwire.AppendPrefix(nil, grpcwire.FlagData, 100), make([]byte, 10)...))
	}

	// Unary: the message never completes.
	c.write(muxOpenFrame(t, 1, "/UserManager/AddUser", false), partial(1))
	if st, _ := c.wantEnd(1); st.Code() != codes.DeadlineExceeded || !strings.Contains(st.Message(), "did not arrive") {
		t.Fatalf("a unary request that never completes: %v; want DeadlineExceeded", st)
	}

	// Client stream: a pause between messages is no fault...
	c.write(muxOpenFrame(t, 3, "/UserManager/CountAlreadyUsers", false), muxDataFrame(t, 3, &pb.UserRequest{Id: 1}, false))
	time.Sleep(3 * timeout)
	c.write(muxDataFrame(t, 3, &pb.UserRequest{Id: 2}, true))
	if st, msgs := c.wantEnd(3); st.Code() != codes.OK || len(msgs) != 1 {
		t.Fatalf("a client stream that paused between messages: %v, %d replies", st, len(msgs))
	}
	// ...but a message begun and not finished is.
	c.write(muxOpenFrame(t, 5, "/UserManager/CountAlreadyUsers", false), muxDataFrame(t, 5, &pb.UserRequest{Id: 1}, false), partial(5))
	if st, _ := c.wantEnd(5); st.Code() != codes.DeadlineExceeded {
		t.Fatalf("a client stream message that never completes: %v; want DeadlineExceeded", st)
	}
}
