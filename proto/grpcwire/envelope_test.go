package grpcwire_test

import (
	"bytes"
	"runtime"
	"testing"
	"testing/iotest"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// TestAppendPrefix: a prefix with the payload appended after it is the
// frame AppendFrame writes, and a Reader reads it back.
func TestAppendPrefix(t *testing.T) {
	payload := []byte("in place")
	got := append(grpcwire.AppendPrefix([]byte("x"), grpcwire.FlagData, len(payload)), payload...)
	if want := grpcwire.AppendFrame([]byte("x"), grpcwire.FlagData, payload); !bytes.Equal(got, want) {
		t.Fatalf("prefix + payload = %x; want %x", got, want)
	}
	if p := grpcwire.AppendPrefix(nil, grpcwire.FlagTrailer, 0x01020304); !bytes.Equal(p, []byte{0x80, 1, 2, 3, 4}) {
		t.Fatalf("prefix = %x", p)
	}
	f, err := grpcwire.NewRequestReader(bytes.NewReader(got[1:]), 64).Next()
	if err != nil || f.Flag != grpcwire.FlagData || string(f.Payload) != "in place" {
		t.Fatalf("read back %v %q, %v", f.Flag, f.Payload, err)
	}
}

// TestReaderGrowsWithTheBytes: a frame that announces more than the reader
// trusts up front is read whole, across many small reads, and a frame that
// announces the limit but ends early allocates only what arrived.
func TestReaderGrowsWithTheBytes(t *testing.T) {
	big := bytes.Repeat([]byte("0123456789abcdef"), 20_000) // 320 kB
	stream := grpcwire.AppendFrame(nil, grpcwire.FlagData, big)
	f, err := grpcwire.NewRequestReader(iotest.HalfReader(bytes.NewReader(stream)), 1<<20).Next()
	if err != nil || !bytes.Equal(f.Payload, big) {
		t.Fatalf("big frame: %d bytes, %v; want %d bytes", len(f.Payload), err, len(big))
	}

	lying := append([]byte{0, 0, 0x40, 0, 0}, "only this"...) // announces 4 MiB
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	before := m.TotalAlloc
	_, err = grpcwire.NewRequestReader(bytes.NewReader(lying), 4<<20).Next()
	runtime.ReadMemStats(&m)
	if grpcstatus.Code(err) != codes.InvalidArgument {
		t.Fatalf("truncated frame: %v; want InvalidArgument", err)
	}
	if grew := m.TotalAlloc - before; grew > 64<<10 {
		t.Fatalf("a frame that announced 4 MiB and sent 9 bytes allocated %d bytes", grew)
	}
}
