package grpcwire_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// gatedTransport records every write; the first waits for its gate, so
// what is added meanwhile queues up behind it.
type gatedTransport struct {
	gate    chan struct{}
	entered chan struct{} // closed when the first write has begun
	writes  chan []byte
	fail    error // every write after the first returns it
	n       int
}

func (g *gatedTransport) write(b []byte) error {
	g.n++
	if g.n == 1 {
		close(g.entered)
		<-g.gate
	}
	g.writes <- bytes.Clone(b)
	if g.n > 1 {
		return g.fail
	}
	return nil
}

func newGated() *gatedTransport {
	return &gatedTransport{gate: make(chan struct{}), entered: make(chan struct{}), writes: make(chan []byte, 16)}
}

func appendString(s string) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) { return append(b, s...), nil }
}

// TestBatchWriterBatches: what is added while a write is in progress
// leaves in one batch, each batch starts with the lead, an addition that
// fails leaves the queue as it was, and Finish's final write comes alone
// after everything queued.
func TestBatchWriterBatches(t *testing.T) {
	g := newGated()
	w := grpcwire.NewBatchWriter(g.write, 1<<10, []byte{grpcwire.WSData})
	if err := w.Add(appendString("one")); err != nil {
		t.Fatal(err)
	}
	<-g.entered // the writer took "one" and waits at the gate
	for _, s := range []string{"two", "three"} {
		if err := w.Add(appendString(s)); err != nil {
			t.Fatal(err)
		}
	}
	bad := errors.New("cannot marshal")
	if err := w.Add(func(b []byte) ([]byte, error) { return append(b, "garbage"...), bad }); err != bad {
		t.Fatalf("failing fill: %v; want its own error", err)
	}
	w.Finish([]byte{grpcwire.WSHalfClose})
	if err := w.Add(appendString("late")); err != grpcwire.ErrStopped {
		t.Fatalf("Add after Finish: %v; want ErrStopped", err)
	}
	close(g.gate)
	if err := w.Wait(); err != nil {
		t.Fatal(err)
	}
	want := []string{"\x00one", "\x00twothree", "\x01"}
	for i, s := range want {
		if got := <-g.writes; string(got) != s {
			t.Fatalf("write %d = %q; want %q", i, got, s)
		}
	}
	if len(g.writes) != 0 {
		t.Fatalf("%d writes more than expected", len(g.writes))
	}
}

// TestBatchWriterBounded: Add waits while the limit is queued, and once a
// write fails every Add returns that error instead of queueing.
func TestBatchWriterBounded(t *testing.T) {
	g := newGated()
	g.fail = errors.New("peer gone")
	w := grpcwire.NewBatchWriter(g.write, 8, nil)
	w.Add(appendString("first"))
	<-g.entered
	w.Add(appendString("12345678")) // fills the queue to its limit
	added := make(chan error, 1)
	go func() { added <- w.Add(appendString("blocked")) }()
	select {
	case err := <-added:
		t.Fatalf("Add returned (%v) with the queue full", err)
	default:
	}
	close(g.gate) // "first" goes, then "12345678" fails
	if err := <-added; err != nil && err != g.fail {
		t.Fatalf("Add after room was made: %v", err)
	}
	if err := w.Wait(); err != g.fail {
		t.Fatalf("Wait = %v; want the write error", err)
	}
	if err := w.Add(appendString("more")); err != g.fail {
		t.Fatalf("Add after a failed write = %v; want the write error", err)
	}
}

// TestBatchWriterStop: Stop ends the writer without writing what waits.
func TestBatchWriterStop(t *testing.T) {
	g := newGated()
	w := grpcwire.NewBatchWriter(g.write, 1<<10, nil)
	w.Add(appendString("first"))
	<-g.entered
	w.Add(appendString("dropped"))
	w.Stop()
	close(g.gate)
	if err := w.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := <-g.writes; string(got) != "first" {
		t.Fatalf("write = %q", got)
	}
	if len(g.writes) != 0 {
		t.Fatalf("a stopped writer wrote %q", <-g.writes)
	}
}

// TestBatchWriterBigBatchesKeepOrder: batches larger than the limit (which
// the writer does not keep for reuse) never share a buffer with what the
// producer fills meanwhile: every byte arrives once, in order.
func TestBatchWriterBigBatchesKeepOrder(t *testing.T) {
	var got []byte
	w := grpcwire.NewBatchWriter(func(b []byte) error {
		time.Sleep(50 * time.Microsecond) // the producer fills the next batch meanwhile
		got = append(got, b...)
		return nil
	}, 16, nil)
	var want []byte
	for i := range 2000 {
		chunk := bytes.Repeat([]byte{byte(i)}, 1+i%40)
		want = append(want, chunk...)
		if err := w.Add(func(b []byte) ([]byte, error) { return append(b, chunk...), nil }); err != nil {
			t.Fatal(err)
		}
	}
	w.Finish(nil)
	if err := w.Wait(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes, not the %d added in order", len(got), len(want))
	}
}

// TestBatchWriterAddNow: AddNow queues at once while Add would wait on a
// full queue, and what it queued goes out in order with the rest.
func TestBatchWriterAddNow(t *testing.T) {
	g := newGated()
	w := grpcwire.NewBatchWriter(g.write, 8, nil)
	w.Add(appendString("first"))
	<-g.entered
	w.Add(appendString("12345678")) // the queue is full
	if err := w.AddNow(appendString("+pong")); err != nil {
		t.Fatalf("AddNow with the queue full: %v", err)
	}
	close(g.gate)
	w.Finish(nil)
	if err := w.Wait(); err != nil {
		t.Fatal(err)
	}
	close(g.writes)
	var got []byte
	for b := range g.writes {
		got = append(got, b...)
	}
	if want := "first12345678+pong"; string(got) != want {
		t.Fatalf("written %q; want %q", got, want)
	}
	select {
	case <-w.Done():
	default:
		t.Fatal("Done not closed after Wait returned")
	}
}

// TestBatchWriterAddNowBacklog: AddNowWithin stops queueing at its bound,
// so a peer that never reads cannot grow the queue without bound.
func TestBatchWriterAddNowBacklog(t *testing.T) {
	g := newGated()
	w := grpcwire.NewBatchWriter(g.write, 8, nil)
	w.Add(appendString("first"))
	<-g.entered // the writer is stuck in a write
	queued := 0
	for ; queued < 100; queued++ {
		if err := w.AddNowWithin(32, appendString("pong")); err != nil {
			if err != grpcwire.ErrBacklog {
				t.Fatalf("AddNow: %v; want ErrBacklog", err)
			}
			break
		}
	}
	if queued != 8 { // 32 bytes of 4-byte pongs
		t.Fatalf("AddNow queued %d pongs before ErrBacklog; want 8", queued)
	}
	close(g.gate)
	w.Stop()
	w.Wait()
}
