package grpchttp

import (
	"bufio"
	"errors"
	"net"
	"net/http"
	"sync"
)

// A grpc-websockets reply is several WebSocket messages (each gRPC frame's
// prefix and payload apart, as improbable-eng's server sends them), and
// gorilla writes each message with a system call of its own. The bridge
// corks its connection while it writes one reply: the messages gather and
// leave in one write, as one TCP segment where they fit, instead of one
// per message.

// corkLimit is the largest reply the bridge corks for: a copy of it is
// held until the last message is written.
const corkLimit = 64 << 10

// corkConn is a hijacked connection whose writes can be held and sent
// together. Writes from other goroutines (gorilla's pongs and closes)
// gather with the held ones.
type corkConn struct {
	net.Conn

	mu     sync.Mutex
	corked bool
	held   []byte
}

// Write implements net.Conn: held while corked.
func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.corked {
		c.held = append(c.held, p...)
		c.mu.Unlock()
		return len(p), nil
	}
	c.mu.Unlock()
	return c.Conn.Write(p)
}

// cork holds writes until uncork.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what was held, in one write, and lets its buffer go (an
// idle stream holds none).
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	held := c.held
	c.held = nil
	if len(held) == 0 {
		return nil
	}
	_, err := c.Conn.Write(held)
	return err
}

// corkingWriter is the handshake's ResponseWriter: it hands the upgrader a
// corkConn when it hijacks the connection.
type corkingWriter struct {
	http.ResponseWriter
}

// Hijack implements http.Hijacker.
func (w corkingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("grpc-websockets: the connection cannot be taken over")
	}
	c, rw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &corkConn{Conn: c}, rw, nil
}
