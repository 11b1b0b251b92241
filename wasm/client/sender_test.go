package client

import (
	"bytes"
	"io"
	"runtime"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/wasm/wire"
)

// gatedWS is a wsConn whose first send waits for a gate, so requests queue
// behind it; it records every message sent.
type gatedWS struct {
	gate chan struct{}
	sent chan []byte
}

func (g *gatedWS) send(b []byte) error {
	if g.gate != nil {
		<-g.gate
		g.gate = nil
	}
	g.sent <- bytes.Clone(b)
	return nil
}
func (g *gatedWS) recv() ([]byte, error) { return nil, io.EOF }
func (g *gatedWS) close() error          { return nil }

// TestWSSenderBatches: requests queued while a send is in progress leave
// in one message, a request that fails to marshal leaves the queue as it
// was, and the half-close follows alone.
func TestWSSenderBatches(t *testing.T) {
	ws := &gatedWS{gate: make(chan struct{}), sent: make(chan []byte, 8)}
	w := newWSSender(ws)
	defer w.stop()
	add := func(m proto.Message) error { return w.add(m, proto.Size(m)) }
	if err := add(&pb.UserRequest{Id: 1}); err != nil {
		t.Fatal(err)
	}
	for { // until the sender has taken request 1 and waits at the gate
		w.mu.Lock()
		taken := len(w.pending) == 0
		w.mu.Unlock()
		if taken {
			break
		}
		runtime.Gosched()
	}
	for _, id := range []uint32{2, 3} {
		if err := add(&pb.UserRequest{Id: id}); err != nil {
			t.Fatal(err)
		}
	}
	// Invalid UTF-8 in a string field: proto3 will not marshal it.
	if err := add(&pb.User{Nickname: "\xff"}); status.Code(err) != codes.Internal {
		t.Fatalf("marshal error: %v", err)
	}
	w.closeSend()
	close(ws.gate)

	want := [][]byte{requests(t, 1), requests(t, 2, 3), {wire.WSHalfClose}}
	for i, w := range want {
		if got := <-ws.sent; !bytes.Equal(got, w) {
			t.Fatalf("message %d = %x; want %x", i, got, w)
		}
	}
}

// requests is a grpc-websockets data message of UserRequests with ids.
func requests(t *testing.T, ids ...uint32) []byte {
	t.Helper()
	out := []byte{wire.WSData}
	for _, id := range ids {
		b, err := proto.Marshal(&pb.UserRequest{Id: id})
		if err != nil {
			t.Fatal(err)
		}
		out = wire.AppendFrame(out, wire.FlagData, b)
	}
	return out
}
