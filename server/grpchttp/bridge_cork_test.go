package grpchttp

import (
	"bytes"
	"net"
	"testing"
)

// countingConn records each write it is given.
type countingConn struct {
	net.Conn
	writes [][]byte
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes = append(c.writes, bytes.Clone(p))
	return len(p), nil
}

// TestCorkConn: writes made while corked leave in one write at uncork, in
// order, and the buffer is let go; uncorked writes go through at once.
func TestCorkConn(t *testing.T) {
	under := &countingConn{}
	c := &corkConn{Conn: under}
	c.Write([]byte("a"))
	c.cork()
	c.Write([]byte("bc"))
	c.Write([]byte("d"))
	if len(under.writes) != 1 {
		t.Fatalf("%d writes reached the connection while corked; want only the one before", len(under.writes))
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("e"))
	want := []string{"a", "bcd", "e"}
	if len(under.writes) != len(want) {
		t.Fatalf("writes %q; want %q", under.writes, want)
	}
	for i, w := range want {
		if string(under.writes[i]) != w {
			t.Fatalf("writes %q; want %q", under.writes, want)
		}
	}
	if c.held != nil {
		t.Fatal("the held buffer was kept after uncork")
	}
}
