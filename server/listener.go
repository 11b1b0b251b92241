package server

import (
	"bufio"
	"bytes"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"
)

// h2Preface starts every HTTP/2 connection with prior knowledge (h2c), which
// is how native gRPC clients speak cleartext. "PRI " never starts an HTTP/1
// request line, so four bytes tell the two apart.
var h2Preface = []byte("PRI ")

// prefaceLen is len(h2Preface).
const prefaceLen = 4

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

// run accepts until the base listener fails or is closed. A temporary
// failure (out of file descriptors, say) is waited out with a growing
// pause, as net/http does, instead of ending the server.
func (p *portSplitter) run() error {
	var pause time.Duration
	for {
		c, err := p.base.Accept()
		if err != nil {
			if !temporaryAcceptError(err) {
				p.close()
				return err
			}
			pause = min(max(2*pause, 5*time.Millisecond), time.Second)
			select {
			case <-time.After(pause):
				continue
			case <-p.done:
				return net.ErrClosed
			}
		}
		pause = 0
		go p.route(c)
	}
}

// temporaryAcceptError reports whether Accept may succeed if tried again.
func temporaryAcceptError(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	for _, e := range []error{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, e) {
			return true
		}
	}
	ne, ok := errors.AsType[net.Error](err)
	return ok && ne.Timeout()
}

func (p *portSplitter) route(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(sniffTimeout))
	var head [prefaceLen]byte
	routed, err := peek(c, head[:])
	if err != nil {
		c.Close()
		return
	}
	c.SetReadDeadline(time.Time{})
	dst := p.h1
	if bytes.Equal(head[:], h2Preface) {
		dst = p.h2
	}
	select {
	case dst.conns <- routed:
	case <-p.done:
		c.Close()
	}
}

// peek fills head with the connection's first bytes and returns the
// connection to hand on, which still yields them. A TCP connection is
// peeked in the kernel (MSG_PEEK) and handed on as it is, so the servers
// get the *net.TCPConn itself, with nothing in between on their hot path;
// any other connection is wrapped to replay the bytes read.
func peek(c net.Conn, head []byte) (net.Conn, error) {
	if tc, ok := c.(*net.TCPConn); ok {
		if err := peekTCP(tc, head); err == nil {
			return c, nil
		} else if !errors.Is(err, errPartialPeek) {
			return nil, err
		}
	}
	br := bufio.NewReaderSize(c, 64) // only the first bytes are ever buffered
	b, err := br.Peek(len(head))
	if err != nil {
		return nil, err
	}
	copy(head, b)
	return &peekedConn{Conn: c, r: br}, nil
}

// errPartialPeek: fewer bytes than asked for have arrived so far, or the
// platform cannot peek in the kernel.
var errPartialPeek = errors.New("partial peek")

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
