package grpcwire

import (
	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
)

// A grpc-mux stream has a window in each direction (MUX.md, "Flow
// control"): the DATA bytes its sender may still send. The sender's side of
// it is a MuxSendWindow, the receiver's a MuxRecvWindow. Both are plain
// accounting, the same for the client and the server: they neither lock
// nor wait, so each side guards them with its stream's lock and waits in
// its own way (for a WINDOW_UPDATE, for the application to read).

// MuxSendWindow is the credit a sender has on one stream.
type MuxSendWindow struct {
	n int64
}

// NewMuxSendWindow returns the credit of a new stream: the receiver's
// InitialWindow.
func NewMuxSendWindow(initial uint32) MuxSendWindow { return MuxSendWindow{n: int64(initial)} }

// Available returns the bytes that may be sent now.
func (w *MuxSendWindow) Available() int { return int(w.n) }

// Take takes up to n bytes of credit and returns how many it took: the
// size of the DATA payload to send now, 0 when the sender must wait.
func (w *MuxSendWindow) Take(n int) int {
	n = int(min(int64(max(n, 0)), w.n))
	w.n -= int64(n)
	return n
}

// Grant adds a WINDOW_UPDATE's increment. An increment of 0 or over
// MuxMaxWindow, or one that takes the window past MuxMaxWindow, is a
// connection error, which the error (a status with code) says; the window
// is then left as it was.
func (w *MuxSendWindow) Grant(inc uint32) error {
	switch {
	case inc == 0 || inc > MuxMaxWindow:
		return grpcstatus.Errorf(codes.InvalidArgument, "grpc-mux: WINDOW_UPDATE of %d; increments are 1 to %d", inc, MuxMaxWindow)
	case w.n+int64(inc) > MuxMaxWindow:
		return grpcstatus.Errorf(codes.ResourceExhausted, "grpc-mux: WINDOW_UPDATE of %d takes the window from %d past %d", inc, w.n, MuxMaxWindow)
	}
	w.n += int64(inc)
	return nil
}

// MuxRecvWindow is a receiver's view of one stream's window: what the
// sender may still send, and what the application has consumed since the
// last WINDOW_UPDATE. Credit goes back as bytes are consumed, not as they
// arrive, so what a stream buffers never exceeds its window.
type MuxRecvWindow struct {
	window  int64 // what the sender may still send
	pending int64 // consumed, not yet announced
	// threshold is how much consumption one WINDOW_UPDATE announces: half
	// the initial window, so an update costs one frame per half window,
	// and a sender whose receiver keeps up never runs dry.
	threshold int64
}

// NewMuxRecvWindow returns the window of a new stream whose receiver
// announced initial as its InitialWindow.
func NewMuxRecvWindow(initial uint32) MuxRecvWindow {
	return MuxRecvWindow{window: int64(initial), threshold: max(int64(initial)/2, 1)}
}

// Receive accounts for a DATA payload of n bytes. More than the window
// holds is a connection error: a ResourceExhausted status, the window left
// as it was.
func (w *MuxRecvWindow) Receive(n int) error {
	if int64(n) > w.window {
		return grpcstatus.Errorf(codes.ResourceExhausted, "grpc-mux: DATA of %d bytes on a stream whose window holds %d", n, w.window)
	}
	w.window -= int64(n)
	return nil
}

// Consume accounts for n received bytes the application has taken, and
// returns the increment to announce in a WINDOW_UPDATE now, or 0 while
// less than half the initial window waits to be announced.
func (w *MuxRecvWindow) Consume(n int) uint32 {
	w.pending += int64(max(n, 0))
	if w.pending < w.threshold {
		return 0
	}
	return w.flush()
}

// Grow grants n bytes beyond what was consumed, for a receiver that wants
// a larger window (a message larger than the window on a stream its
// application reads, say). It returns the increment to announce at once,
// what was pending included; the window never grows past MuxMaxWindow.
func (w *MuxRecvWindow) Grow(n uint32) uint32 {
	w.pending += min(int64(n), MuxMaxWindow-w.window-w.pending)
	if w.pending <= 0 {
		w.pending = 0
		return 0
	}
	return w.flush()
}

func (w *MuxRecvWindow) flush() uint32 {
	inc := w.pending
	w.window += inc
	w.pending = 0
	return uint32(inc)
}

// Window returns what the sender may still send.
func (w *MuxRecvWindow) Window() int { return int(w.window) }
