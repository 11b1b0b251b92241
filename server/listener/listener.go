// Package listener is the playground's one port: it accepts every
// connection, does TLS when it is on (ALPN h2 and http/1.1, the certificate
// reloaded when its files change), and hands each connection to one of two
// servers: grpc-go's own transport for a connection whose first request is
// native gRPC (the fastest path there is, measured in make bench), net/http
// for the rest. Both serve the same policy (grpchttp.ServerOptions and
// grpchttp.Handler).
package listener

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"
)

// A Splitter accepts every connection of the one port and hands it to one
// of two servers:
//
//   - grpc-go's own transport (as fast as grpc.Server.Serve on a port of its
//     own) takes the HTTP/2 connections whose first request is native gRPC
//     (h2route.go tells);
//   - net/http takes the rest: HTTP/1.1 (gRPC-Web, the WebSocket bridge,
//     the page) and HTTP/2 connections that open with anything else (gRPC-Web
//     from browsers over TLS and from reverse proxies over h2c; native gRPC
//     too, through our call core).
//
// With TLS on, the splitter does the handshake itself (ALPN h2 and
// http/1.1) and refuses cleartext.

// h2Preface starts every HTTP/2 connection with prior knowledge (h2c), which
// is how native gRPC clients speak cleartext. "PRI " never starts an HTTP/1
// request line, so four bytes tell the two apart.
const h2Preface = "PRI "

// prefaceLen is len(h2Preface).
const prefaceLen = 4

// sniffTimeout bounds how long a new connection may take to send its first
// bytes, and its TLS handshake, before it is dropped.
const sniffTimeout = 10 * time.Second

// tlsRecordHandshake is the first byte of a TLS ClientHello.
const tlsRecordHandshake = 0x16

// Splitter accepts on one listener and hands each connection to one of
// two listeners: Native for grpc-go's transport, HTTP for net/http.
type Splitter struct {
	base   net.Listener
	tls    *tls.Config // nil: cleartext
	guard  *Guard
	h2, h1 *chanListener
	done   chan struct{}
	once   sync.Once
}

// Split returns a Splitter of base's connections; tlsConfig, when not nil,
// makes it do TLS and refuse cleartext; guard bounds the connections (nil:
// the defaults). Run accepts.
func Split(base net.Listener, tlsConfig *tls.Config, guard *Guard) *Splitter {
	if guard == nil {
		guard = &Guard{}
	}
	p := &Splitter{base: base, tls: tlsConfig, guard: guard, done: make(chan struct{})}
	p.h2 = &chanListener{conns: make(chan net.Conn), p: p}
	p.h1 = &chanListener{conns: make(chan net.Conn), p: p}
	return p
}

// Native is the listener of the connections for grpc-go's transport.
func (p *Splitter) Native() net.Listener { return p.h2 }

// HTTP is the listener of the connections for net/http.
func (p *Splitter) HTTP() net.Listener { return p.h1 }

// Done is closed once the Splitter is closed.
func (p *Splitter) Done() <-chan struct{} { return p.done }

// Run accepts until the base listener fails or is closed. A temporary
// failure (out of file descriptors, say) is waited out with a growing
// pause, as net/http does, instead of ending the server.
func (p *Splitter) Run() error {
	var pause time.Duration
	for {
		c, err := p.base.Accept()
		if err != nil {
			if !temporaryAcceptError(err) {
				p.Close()
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
		if c = p.guard.admit(c); c != nil {
			go p.route(c)
		}
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

// route sniffs a new connection and hands it on.
func (p *Splitter) route(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(sniffTimeout))
	var head [prefaceLen]byte
	conn, err := peek(c, head[:])
	if err != nil {
		c.Close()
		return
	}
	switch {
	case p.tls == nil && string(head[:]) == h2Preface:
		p.routeH2(conn, nil)
	case p.tls == nil:
		conn.SetReadDeadline(time.Time{})
		p.hand(p.h1, conn)
	case head[0] == tlsRecordHandshake:
		p.routeTLS(conn)
	default:
		// Cleartext on a TLS port: say so, as net/http does, and close.
		conn.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(conn, "HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nThis server speaks TLS only: use https:// (or a gRPC client with TLS).\n")
		conn.Close()
	}
}

// routeTLS does the TLS handshake and hands the connection on by the
// protocol ALPN chose.
func (p *Splitter) routeTLS(c net.Conn) {
	tc := tls.Server(c, p.tls)
	ctx, cancel := context.WithTimeout(context.Background(), sniffTimeout)
	err := tc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		c.Close()
		return
	}
	state := tc.ConnectionState()
	switch state.NegotiatedProtocol {
	case "h2":
		p.routeH2(tc, &state)
		return
	case "":
		// No ALPN: HTTP/1.1, or HTTP/2 with prior knowledge over TLS.
		var head [prefaceLen]byte
		conn, err := peek(tc, head[:])
		if err != nil {
			tc.Close()
			return
		}
		if string(head[:]) == h2Preface {
			p.routeH2(conn, &state)
			return
		}
		conn.SetReadDeadline(time.Time{})
		p.hand(p.h1, withTLS(conn, &state))
		return
	}
	tc.SetReadDeadline(time.Time{})
	p.hand(p.h1, tc) // net/http sees the *tls.Conn: r.TLS is set
}

// hand gives c to l's server, or closes it once the splitter is closed.
func (p *Splitter) hand(l *chanListener, c net.Conn) {
	select {
	case l.conns <- c:
	case <-p.done:
		c.Close()
	}
}

// peek fills head with the connection's first bytes and returns the
// connection to hand on, which still yields them. A TCP connection is
// peeked in the kernel (MSG_PEEK, where the platform has it) and handed on
// as it is, so the servers get the *net.TCPConn itself, with nothing in
// between on their hot path; any other connection is wrapped to replay the
// bytes read.
func peek(c net.Conn, head []byte) (net.Conn, error) {
	if tc, ok := tcpOf(c); ok {
		if err := peekTCP(tc, head); err == nil {
			return c, nil
		} else if !errors.Is(err, errPartialPeek) {
			return nil, err
		}
	}
	if _, err := io.ReadFull(c, head); err != nil {
		return nil, err
	}
	return &h2Conn{Conn: c, prefix: append([]byte(nil), head...)}, nil
}

// errPartialPeek: fewer bytes than asked for have arrived so far, or the
// platform cannot peek in the kernel.
var errPartialPeek = errors.New("partial peek")

// Close closes the base listener: both sides stop accepting.
func (p *Splitter) Close() error {
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
	p     *Splitter
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
func (l *chanListener) Close() error   { return l.p.Close() }
func (l *chanListener) Addr() net.Addr { return l.p.base.Addr() }
