package grpcwire_test

import (
	"math/rand/v2"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

func TestMuxSendWindow(t *testing.T) {
	w := grpcwire.NewMuxSendWindow(100)
	if got := w.Take(60); got != 60 || w.Available() != 40 {
		t.Fatalf("Take(60) = %d, left %d", got, w.Available())
	}
	if got := w.Take(60); got != 40 || w.Available() != 0 {
		t.Fatalf("Take(60) at 40 = %d, left %d", got, w.Available())
	}
	if got := w.Take(1); got != 0 {
		t.Fatalf("Take at zero credit = %d", got)
	}
	if err := w.Grant(10); err != nil || w.Available() != 10 {
		t.Fatalf("Grant(10): %v, %d", err, w.Available())
	}
	for _, tc := range []struct {
		inc  uint32
		want codes.Code
	}{
		{0, codes.InvalidArgument},
		{1 << 31, codes.InvalidArgument}, // negative as a signed field
		{1<<32 - 1, codes.InvalidArgument},
		{grpcwire.MuxMaxWindow - 5, codes.ResourceExhausted}, // 10 + that > 2^31-1
	} {
		if err := w.Grant(tc.inc); grpcstatus.Code(err) != tc.want {
			t.Errorf("Grant(%d) = %v; want %v", tc.inc, err, tc.want)
		}
		if w.Available() != 10 {
			t.Fatalf("a refused Grant(%d) changed the window to %d", tc.inc, w.Available())
		}
	}
	if err := w.Grant(grpcwire.MuxMaxWindow - 10); err != nil || w.Available() != grpcwire.MuxMaxWindow {
		t.Fatalf("Grant up to the maximum: %v, %d", err, w.Available())
	}
}

func TestMuxRecvWindow(t *testing.T) {
	w := grpcwire.NewMuxRecvWindow(1000)
	if err := w.Receive(1000); err != nil {
		t.Fatal(err)
	}
	if err := w.Receive(1); grpcstatus.Code(err) != codes.ResourceExhausted {
		t.Fatalf("one byte past the window: %v", err)
	}
	if inc := w.Consume(499); inc != 0 {
		t.Fatalf("Consume under half the window announced %d", inc)
	}
	if inc := w.Consume(1); inc != 500 || w.Window() != 500 {
		t.Fatalf("Consume reaching half the window announced %d (window %d); want 500", inc, w.Window())
	}
	if inc := w.Grow(3000); inc != 3000 || w.Window() != 3500 {
		t.Fatalf("Grow(3000) = %d, window %d", inc, w.Window())
	}
	if inc := w.Grow(1 << 31); w.Window() != grpcwire.MuxMaxWindow || int(inc) != grpcwire.MuxMaxWindow-3500 {
		t.Fatalf("Grow past the maximum: announced %d, window %d", inc, w.Window())
	}
	if inc := w.Grow(1); inc != 0 {
		t.Fatalf("Grow at the maximum announced %d", inc)
	}
}

// TestMuxWindowsTogether runs a sender and a receiver against each other
// with random frame sizes and random reads, updates delivered at once: the
// receiver never buffers more than the initial window, the sender is never
// refused, and a receiver that has read everything never leaves the sender
// without credit, so neither can wait on the other forever.
func TestMuxWindowsTogether(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, initial := range []uint32{1024, 1500, 64 << 10} {
		send := grpcwire.NewMuxSendWindow(initial)
		recv := grpcwire.NewMuxRecvWindow(initial)
		buffered, total := 0, 0
		for step := 0; step < 100_000; step++ {
			if rng.IntN(2) == 0 {
				n := send.Take(1 + rng.IntN(4096))
				if err := recv.Receive(n); err != nil {
					t.Fatalf("initial %d, step %d: the receiver refused what the sender was allowed: %v", initial, step, err)
				}
				buffered += n
				total += n
			} else if buffered > 0 {
				n := 1 + rng.IntN(buffered)
				buffered -= n
				if inc := recv.Consume(n); inc > 0 {
					if err := send.Grant(inc); err != nil {
						t.Fatal(err)
					}
				}
			}
			if buffered > int(initial) {
				t.Fatalf("initial %d: %d bytes buffered", initial, buffered)
			}
			if buffered == 0 && send.Available() == 0 {
				t.Fatalf("initial %d, step %d: all read, yet the sender has no credit", initial, step)
			}
			if send.Available() != recv.Window() {
				t.Fatalf("the sides disagree: sender %d, receiver %d", send.Available(), recv.Window())
			}
		}
		if total < 1<<20 {
			t.Fatalf("initial %d: only %d bytes moved", initial, total)
		}
	}
}
