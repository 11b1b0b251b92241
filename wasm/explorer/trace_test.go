package explorer

import (
	"bytes"
	"crypto/rand"
	"regexp"
	"testing"
	"testing/iotest"
)

func TestNewTraceparent(t *testing.T) {
	valid := regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)
	seen := map[string]bool{}
	for range 100 {
		tp, id, err := NewTraceparent(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		m := valid.FindStringSubmatch(tp)
		if m == nil || m[1] != id {
			t.Fatalf("NewTraceparent = %q, %q; want 00-<trace id>-<span id>-01 with that trace id", tp, id)
		}
		if seen[id] {
			t.Fatalf("trace id %s twice", id)
		}
		seen[id] = true
	}
	// Zero ids are invalid: they are drawn again.
	zeroFirst := bytes.NewReader(append(make([]byte, 24), bytes.Repeat([]byte{0xab}, 24)...))
	if tp, _, err := NewTraceparent(zeroFirst); err != nil || tp != "00-abababababababababababababababab-abababababababab-01" {
		t.Fatalf("after zero bytes: %q, %v", tp, err)
	}
	if _, _, err := NewTraceparent(iotest.ErrReader(iotest.ErrTimeout)); err == nil {
		t.Fatal("no error without random bytes")
	}
}
