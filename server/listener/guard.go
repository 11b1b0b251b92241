package listener

import (
	"crypto/tls"
	"encoding/binary"
	"log/slog"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
)

// Guard is what the port enforces below both servers:
//
//   - connections per client address, so that no client holds all the
//     server's file descriptors;
//   - on the connections handed to grpc-go's transport, which has no such
//     bounds of its own: a write that blocks longer than WriteTimeout (a
//     client that stopped reading) closes the connection, as net/http's
//     write timeouts end the runtime's calls; and a client that resets
//     streams faster than MaxConcurrentStreams a second, beyond a burst
//     of four times that (HTTP/2's rapid reset), has its connection
//     closed, as net/http answers the same flood on its own transport.
type Guard struct {
	// MaxConnsPerClient bounds the open connections of one client
	// address; 0: DefaultMaxConnsPerClient. A connection over it is closed
	// at once.
	MaxConnsPerClient int
	// WriteTimeout bounds one write to a connection of grpc-go's
	// transport; 0: none.
	WriteTimeout time.Duration
	// MaxConcurrentStreams is the calls in flight one HTTP/2 connection
	// may have: the reset rate allowed, per second; 0: 100.
	MaxConcurrentStreams int
	// Logger hears about refused and closed connections.
	Logger *slog.Logger

	mu      sync.Mutex
	clients map[string]int
	logged  map[string]bool // clients whose refusal was logged, until they are under the cap again
}

// DefaultMaxConnsPerClient is the open connections one client address may
// have: enough for a browser's page and its WebSocket streams.
const DefaultMaxConnsPerClient = 1024

// admit counts c against its client's connections and returns it wrapped
// so that closing it counts it out, or nil (c closed) when its client is
// over the cap.
func (g *Guard) admit(c net.Conn) net.Conn {
	client := c.RemoteAddr().String()
	if host, _, err := net.SplitHostPort(client); err == nil {
		client = host
	}
	max := g.MaxConnsPerClient
	if max <= 0 {
		max = DefaultMaxConnsPerClient
	}
	g.mu.Lock()
	if g.clients == nil {
		g.clients, g.logged = make(map[string]int), make(map[string]bool)
	}
	if g.clients[client] >= max {
		first := !g.logged[client]
		g.logged[client] = true
		g.mu.Unlock()
		c.Close()
		if first && g.Logger != nil {
			g.Logger.Warn("connection refused: the client has as many open as it may (see -max-conns-per-client)", "client", client, "max", max)
		}
		return nil
	}
	g.clients[client]++
	g.mu.Unlock()
	return &clientConn{Conn: c, g: g, client: client}
}

func (g *Guard) release(client string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.clients[client]--; g.clients[client] <= 0 {
		delete(g.clients, client)
		delete(g.logged, client)
	}
}

// clientConn is an accepted connection counted against its client's cap.
type clientConn struct {
	net.Conn
	g      *Guard
	client string
	once   sync.Once
}

func (c *clientConn) Close() error {
	c.once.Do(func() { c.g.release(c.client) })
	return c.Conn.Close()
}

// tcp is the TCP connection under c, for peeking in the kernel.
func tcpOf(c net.Conn) (*net.TCPConn, bool) {
	if cc, ok := c.(*clientConn); ok {
		c = cc.Conn
	}
	tc, ok := c.(*net.TCPConn)
	return tc, ok
}

// native wraps a connection handed to grpc-go's transport with the write
// bound and the rapid-reset watch.
func (g *Guard) native(c net.Conn) net.Conn {
	rate := g.MaxConcurrentStreams
	if rate <= 0 {
		rate = 100
	}
	return &nativeConn{Conn: c, g: g, timeout: g.WriteTimeout, rate: float64(rate), burst: float64(4 * rate), tokens: float64(4 * rate), last: time.Now(), preface: len(clientPreface)}
}

// nativeConn is a connection of grpc-go's transport. Its reads pass
// through a frame scanner that only follows frame headers (a few
// operations a frame, no copy) to count the client's RST_STREAM frames.
type nativeConn struct {
	net.Conn
	g       *Guard
	timeout time.Duration

	// The reading goroutine's own (grpc-go reads on one goroutine).
	preface     int // client preface bytes still to pass
	hdr         [9]byte
	nhdr        int // frame header bytes gathered
	payload     int // payload bytes of the current frame still to pass
	rate, burst float64
	tokens      float64 // resets allowed now (a token bucket)
	last        time.Time
	closed      bool
}

func (c *nativeConn) Write(b []byte) (int, error) {
	if c.timeout > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(c.timeout))
	}
	return c.Conn.Write(b)
}

func (c *nativeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.closed && c.scan(p[:n]) {
		c.closed = true
		if c.g.Logger != nil {
			c.g.Logger.Warn("connection closed: the client resets streams faster than it may (HTTP/2 rapid reset)", "client", c.RemoteAddr().String())
		}
		c.Conn.Close()
	}
	return n, err
}

// scan follows the frames in b and reports whether the client has reset
// more streams than its budget allows.
func (c *nativeConn) scan(b []byte) (flood bool) {
	for len(b) > 0 {
		switch {
		case c.preface > 0:
			k := min(c.preface, len(b))
			c.preface -= k
			b = b[k:]
		case c.payload > 0:
			k := min(c.payload, len(b))
			c.payload -= k
			b = b[k:]
		default:
			k := copy(c.hdr[c.nhdr:], b)
			c.nhdr += k
			b = b[k:]
			if c.nhdr < len(c.hdr) {
				return false
			}
			c.nhdr = 0
			c.payload = int(binary.BigEndian.Uint32(c.hdr[:4]) >> 8)
			if http2.FrameType(c.hdr[3]) == http2.FrameRSTStream && c.reset() {
				return true
			}
		}
	}
	return false
}

// reset spends a token for a reset and reports whether none was left.
func (c *nativeConn) reset() bool {
	now := time.Now()
	c.tokens = min(c.burst, c.tokens+now.Sub(c.last).Seconds()*c.rate)
	c.last = now
	if c.tokens < 1 {
		return true
	}
	c.tokens--
	return false
}

// TLSConnectionState is the TLS state of the connection under c, when the
// Splitter did its handshake; nil for cleartext.
func (c *nativeConn) TLSConnectionState() *tls.ConnectionState {
	if tc, ok := c.Conn.(interface{ TLSConnectionState() *tls.ConnectionState }); ok {
		return tc.TLSConnectionState()
	}
	return nil
}
