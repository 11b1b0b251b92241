package server

import (
	"bufio"
	"bytes"
	"net"
	"sync"
	"time"
)

// h2Preface starts every HTTP/2 connection with prior knowledge (h2c), which
// is how native gRPC clients speak cleartext. "PRI " never starts an HTTP/1
// request line, so four bytes tell the two apart.
var h2Preface = []byte("PRI ")

// sniffTimeout bounds how long a new connection may take to send its first
// bytes before it is dropped.
const sniffTimeout = 10 * time.Second

// portSplitter accepts on one listener and hands each connection to one of
// two listeners: HTTP/2 with prior knowledge to the gRPC server's own
// transport (as fast as grpc.Server.Serve on a port of its own), everything
// else to the HTTP/1 server (gRPC-Web, the WebSocket bridge, page assets).
type portSplitter struct {
	base   net.Listener
	h2, h1 *chanListener
	done   chan struct{}
	once   sync.Once
}

func splitPort(base net.Listener) *portSplitter {
	p := &portSplitter{base: base, done: make(chan struct{})}
	p.h2 = &chanListener{conns: make(chan net.Conn), p: p}
	p.h1 = &chanListener{conns: make(chan net.Conn), p: p}
	return p
}

// run accepts until the base listener fails or is closed.
func (p *portSplitter) run() error {
	for {
		c, err := p.base.Accept()
		if err != nil {
			p.close()
			return err
		}
		go p.route(c)
	}
}

func (p *portSplitter) route(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(sniffTimeout))
	br := bufio.NewReaderSize(c, 64) // only the first bytes are ever buffered
	head, err := br.Peek(len(h2Preface))
	if err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	dst := p.h1
	if bytes.Equal(head, h2Preface) {
		dst = p.h2
	}
	select {
	case dst.conns <- &peekedConn{Conn: c, r: br}:
	case <-p.done:
		c.Close()
	}
}

func (p *portSplitter) close() error {
	var err error
	p.once.Do(func() {
		close(p.done)
		err = p.base.Close()
	})
	return err
}

// chanListener is one side of a portSplitter.
type chanListener struct {
	conns chan net.Conn
	p     *portSplitter
}

func (l *chanListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.p.done:
		return nil, net.ErrClosed
	}
}

// Close closes the shared listener: both sides stop accepting.
func (l *chanListener) Close() error   { return l.p.close() }
func (l *chanListener) Addr() net.Addr { return l.p.base.Addr() }

// peekedConn replays the bytes read while sniffing, then drops its buffer
// so a long-lived connection does not keep it.
type peekedConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *peekedConn) Read(b []byte) (int, error) {
	if c.r != nil {
		if c.r.Buffered() > 0 {
			return c.r.Read(b)
		}
		c.r = nil
	}
	return c.Conn.Read(b)
}
