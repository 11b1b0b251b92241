package wire_test

import (
	"bytes"
	"testing"

	"github.com/grpcplay/playground/wasm/wire"
)

// TestAppendPrefix: a prefix with the payload appended after it is the
// frame AppendFrame writes, and a Reader reads it back.
func TestAppendPrefix(t *testing.T) {
	payload := []byte("in place")
	got := append(wire.AppendPrefix([]byte("x"), wire.FlagData, len(payload)), payload...)
	if want := wire.AppendFrame([]byte("x"), wire.FlagData, payload); !bytes.Equal(got, want) {
		t.Fatalf("prefix + payload = %x; want %x", got, want)
	}
	if p := wire.AppendPrefix(nil, wire.FlagTrailer, 0x01020304); !bytes.Equal(p, []byte{0x80, 1, 2, 3, 4}) {
		t.Fatalf("prefix = %x", p)
	}
	f, err := wire.NewReader(bytes.NewReader(got[1:]), 64).Next()
	if err != nil || f.Flag != wire.FlagData || string(f.Payload) != "in place" {
		t.Fatalf("read back %v %q, %v", f.Flag, f.Payload, err)
	}
}
