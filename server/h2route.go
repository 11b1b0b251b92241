package server

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/credentials"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// An HTTP/2 connection (cleartext with prior knowledge, or TLS with ALPN
// h2) may carry native gRPC (grpcurl, grpc-go, the tutorial's Python
// client), gRPC-Web (browsers over TLS, reverse proxies over h2c) or the
// page. grpc-go's own transport serves native gRPC fastest but answers
// anything else with 415; net/http serves everything, native gRPC through
// our call core. routeH2 reads the connection's first request header to
// choose: a connection whose first request is native gRPC goes to grpc-go
// for its lifetime, every other one (and one that sends no request within
// h2SniffWait) to net/http.
//
// grpc-go's clients wait for the server's SETTINGS before they send a
// request, so routeH2 sends one first, empty (the defaults). The server
// that takes the connection over sends its own after it, which HTTP/2
// allows. The client's acknowledgment of ours reaches grpc-go, which
// ignores acknowledgments; for net/http, which refuses an acknowledgment of
// settings it did not send, an h2Conn drops it.

// h2SniffWait bounds the wait for a connection's first request header; a
// connection quiet for longer goes to net/http, which serves every
// protocol.
const h2SniffWait = time.Second

// h2SniffMax bounds the bytes read ahead for the first request header.
const h2SniffMax = 16 << 10

// clientPreface opens every HTTP/2 connection from a client.
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// emptySettings is a SETTINGS frame with no settings.
var emptySettings = [9]byte{0, 0, 0, byte(http2.FrameSettings), 0, 0, 0, 0, 0}

// routeH2 hands an HTTP/2 connection to grpc-go or net/http by its first
// request. cs is the connection's TLS state, nil for h2c.
func (p *portSplitter) routeH2(c net.Conn, cs *tls.ConnectionState) {
	settings := emptySettings
	c.SetWriteDeadline(time.Now().Add(sniffTimeout))
	if _, err := c.Write(settings[:]); err != nil {
		c.Close()
		return
	}
	c.SetWriteDeadline(time.Time{})
	c.SetReadDeadline(time.Now().Add(h2SniffWait))
	native, conn := sniffFirstRequest(c)
	conn.SetReadDeadline(time.Time{})
	if native {
		if cs != nil {
			hc, ok := conn.(*h2Conn)
			if !ok {
				hc = &h2Conn{Conn: conn}
			}
			hc.tls = cs
			conn = hc
		}
		p.hand(p.h2, conn)
		return
	}
	hc, ok := conn.(*h2Conn)
	if !ok {
		hc = &h2Conn{Conn: conn}
	}
	hc.tls, hc.dropAck = cs, true
	p.hand(p.h1, hc)
}

// sniffFirstRequest reads the connection's first request header, waiting
// until c's read deadline at most, and reports whether it is native gRPC.
// It returns the connection to hand on, which still yields every byte: a
// TCP connection is peeked in the kernel and handed on as it is, any other
// wrapped in an h2Conn that replays what was read.
func sniffFirstRequest(c net.Conn) (native bool, conn net.Conn) {
	buf := make([]byte, h2SniffMax)
	if tc, ok := c.(*net.TCPConn); ok {
		if native, ok := peekFirstRequest(tc, buf); ok {
			return native, c
		}
	}
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if native, complete := firstRequestIsGRPC(buf[:n]); complete {
			return native, replay(c, buf[:n])
		}
		if err != nil {
			break
		}
	}
	return false, replay(c, buf[:n])
}

// replay returns c yielding b first.
func replay(c net.Conn, b []byte) net.Conn {
	if hc, ok := c.(*h2Conn); ok {
		hc.prefix = append(hc.prefix, b...)
		return hc
	}
	return &h2Conn{Conn: c, prefix: append([]byte(nil), b...)}
}

// firstRequestIsGRPC parses b, a connection's first bytes from the client
// preface on, and reports whether its first request header carries a
// native gRPC content type (application/grpc, +proto, +json: not
// gRPC-Web). complete is false while b does not hold a whole header block.
// Bytes that are not HTTP/2 count as complete and not native: net/http
// answers them.
func firstRequestIsGRPC(b []byte) (native, complete bool) {
	if len(b) < len(clientPreface) {
		return false, !bytes.HasPrefix([]byte(clientPreface), b)
	}
	if string(b[:len(clientPreface)]) != clientPreface {
		return false, true
	}
	fr := http2.NewFramer(io.Discard, bytes.NewReader(b[len(clientPreface):]))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = maxHeaderBytes
	for {
		f, err := fr.ReadFrame()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, len(b) >= h2SniffMax
		}
		if err != nil {
			return false, true
		}
		if mh, ok := f.(*http2.MetaHeadersFrame); ok {
			for _, hf := range mh.RegularFields() {
				if hf.Name == "content-type" {
					ct, ok := grpcwire.ParseContentType(hf.Value)
					return ok && !ct.Web, true
				}
			}
			return false, true
		}
	}
}

// h2Conn is an HTTP/2 connection the splitter read from: it replays the
// bytes read, carries the TLS state when the splitter did the handshake,
// and for net/http drops the client's acknowledgment of the splitter's
// SETTINGS frame.
type h2Conn struct {
	net.Conn
	prefix []byte               // read ahead, replayed first
	tls    *tls.ConnectionState // nil for cleartext

	// dropAck: remove the first SETTINGS acknowledgment from the stream.
	// The filter follows the frames (after the client preface) until it has.
	dropAck  bool
	preface  int    // client preface bytes passed so far
	hdr      []byte // a frame header being assembled
	payload  int    // payload bytes of the current frame still to pass
	filtered []byte // filtered bytes not yet returned
	readErr  error
	in       []byte
}

func (c *h2Conn) Read(p []byte) (int, error) {
	if len(c.filtered) > 0 {
		n := copy(p, c.filtered)
		c.filtered = c.filtered[n:]
		return n, nil
	}
	if !c.dropAck {
		if len(c.prefix) > 0 {
			n := copy(p, c.prefix)
			c.prefix = c.prefix[n:]
			return n, nil
		}
		return c.Conn.Read(p)
	}
	for len(c.filtered) == 0 {
		if c.readErr != nil {
			return 0, c.readErr
		}
		var chunk []byte
		if len(c.prefix) > 0 {
			chunk, c.prefix = c.prefix, nil
		} else {
			if c.in == nil {
				c.in = make([]byte, 16<<10)
			}
			n, err := c.Conn.Read(c.in)
			chunk, c.readErr = c.in[:n], err
		}
		c.filter(chunk)
	}
	n := copy(p, c.filtered)
	c.filtered = c.filtered[n:]
	return n, nil
}

// filter appends b to c.filtered without the first SETTINGS
// acknowledgment.
func (c *h2Conn) filter(b []byte) {
	for len(b) > 0 && c.dropAck {
		switch {
		case c.preface < len(clientPreface):
			k := min(len(clientPreface)-c.preface, len(b))
			c.filtered = append(c.filtered, b[:k]...)
			c.preface += k
			b = b[k:]
		case c.payload > 0:
			k := min(c.payload, len(b))
			c.filtered = append(c.filtered, b[:k]...)
			c.payload -= k
			b = b[k:]
		default:
			k := min(9-len(c.hdr), len(b))
			c.hdr = append(c.hdr, b[:k]...)
			b = b[k:]
			if len(c.hdr) < 9 {
				continue
			}
			length := int(c.hdr[0])<<16 | int(c.hdr[1])<<8 | int(c.hdr[2])
			if http2.FrameType(c.hdr[3]) == http2.FrameSettings && http2.Flags(c.hdr[4]).Has(http2.FlagSettingsAck) && length == 0 {
				c.dropAck = false // dropped: pass the rest as it is
			} else {
				c.filtered = append(c.filtered, c.hdr...)
				c.payload = length
			}
			c.hdr = c.hdr[:0]
		}
	}
	c.filtered = append(c.filtered, b...)
}

// connContext gives the requests of a connection the splitter did the TLS
// handshake of (and net/http serves as h2c) its TLS state.
func connContext(ctx context.Context, c net.Conn) context.Context {
	if hc, ok := c.(*h2Conn); ok && hc.tls != nil {
		return context.WithValue(ctx, tlsStateKey{}, hc.tls)
	}
	return ctx
}

// handoverCreds are grpc-go's transport credentials when the splitter does
// TLS: the handshake is done, so ServerHandshake only reports it, as
// grpc-go's own TLS credentials would.
type handoverCreds struct{}

func (handoverCreds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if hc, ok := c.(*h2Conn); ok && hc.tls != nil {
		return c, credentials.TLSInfo{State: *hc.tls, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
	}
	return nil, nil, errors.New("server: a cleartext connection reached the TLS server")
}

func (handoverCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("server: handoverCreds are for the server side")
}

func (handoverCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls", SecurityVersion: "1.2"}
}

func (c handoverCreds) Clone() credentials.TransportCredentials { return c }

func (handoverCreds) OverrideServerName(string) error { return nil }
