package listener

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/credentials"
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

// routeH2 hands a connection that should speak HTTP/2 to grpc-go or
// net/http by its first request. cs is the connection's TLS state, nil for
// h2c. A connection that does not open with the client preface (HTTP/1.1
// after ALPN chose h2, say) goes to net/http as it is, which answers it.
func (p *Splitter) routeH2(c net.Conn, cs *tls.ConnectionState) {
	var head [len(clientPreface)]byte
	pc, err := peek(c, head[:])
	if err != nil {
		c.Close()
		return
	}
	c = pc
	if string(head[:]) != clientPreface {
		c.SetReadDeadline(time.Time{})
		p.hand(p.h1, withTLS(c, cs))
		return
	}
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
		p.hand(p.h2, p.guard.native(withTLS(conn, cs)))
		return
	}
	hc := asH2Conn(conn)
	hc.tls, hc.dropAck = cs, true
	p.hand(p.h1, hc)
}

// asH2Conn returns c as an h2Conn, wrapping it if need be.
func asH2Conn(c net.Conn) *h2Conn {
	if hc, ok := c.(*h2Conn); ok {
		return hc
	}
	return &h2Conn{Conn: c}
}

// withTLS returns c carrying its TLS state, when it has one (cs not nil).
func withTLS(c net.Conn, cs *tls.ConnectionState) net.Conn {
	if cs == nil {
		return c
	}
	hc := asH2Conn(c)
	hc.tls = cs
	return hc
}

// sniffFirstRequest reads the connection's first request header, waiting
// until c's read deadline at most, and reports whether it is native gRPC.
// It returns the connection to hand on, which still yields every byte: a
// TCP connection is peeked in the kernel and handed on as it is, any other
// wrapped in an h2Conn that replays what was read.
func sniffFirstRequest(c net.Conn) (native bool, conn net.Conn) {
	buf := make([]byte, h2SniffMax)
	if tc, ok := tcpOf(c); ok {
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
// preface on, and reports whether its first request is native gRPC as
// grpc-go's transport takes it: a POST whose content type is
// application/grpc, +proto or +json, written as grpc-go matches it (lower
// case). Anything else, upper-case content types and GETs included, goes
// to net/http, which serves every request (native gRPC through grpchttp):
// grpc-go would answer it with 415 and keep the connection. complete is
// false while b does not hold a whole header block. Bytes that are not
// HTTP/2 count as complete and not native: net/http answers them.
func firstRequestIsGRPC(b []byte) (native, complete bool) {
	if len(b) < len(clientPreface) {
		return false, !bytes.HasPrefix([]byte(clientPreface), b)
	}
	if string(b[:len(clientPreface)]) != clientPreface {
		return false, true
	}
	fr := http2.NewFramer(io.Discard, bytes.NewReader(b[len(clientPreface):]))
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = sniffMaxHeaderBytes
	for {
		f, err := fr.ReadFrame()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return false, len(b) >= h2SniffMax
		}
		if err != nil {
			return false, true
		}
		if mh, ok := f.(*http2.MetaHeadersFrame); ok {
			ct := ""
			for _, hf := range mh.RegularFields() {
				if hf.Name == "content-type" {
					ct = hf.Value
					break
				}
			}
			return mh.PseudoValue("method") == "POST" && grpcGoTakes(ct), true
		}
	}
}

// grpcGoTakes reports whether grpc-go's transport serves a call of
// content type ct with a codec it has: application/grpc, +proto and +json
// (the server package registers it) (grpc-go matches the prefix byte for
// byte).
func grpcGoTakes(ct string) bool {
	sub, ok := strings.CutPrefix(ct, "application/grpc")
	switch {
	case !ok:
		return false
	case sub == "":
		return true
	}
	sub, _, _ = strings.Cut(sub[1:], ";")
	return (ct[len("application/grpc")] == '+' || ct[len("application/grpc")] == ';') && (sub == "" || sub == "proto" || sub == "json")
}

// sniffMaxHeaderBytes bounds the first request header the splitter reads.
const sniffMaxHeaderBytes = 64 << 10

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

// TLSConnectionState is the connection's TLS state, nil for cleartext:
// net/http cannot see it on a connection it did not do the handshake of,
// and grpchttp's ConfigureServer looks for this method.
func (c *h2Conn) TLSConnectionState() *tls.ConnectionState { return c.tls }

// HandoverCreds are grpc-go's transport credentials when the Splitter does
// TLS: the handshake is done, so ServerHandshake only reports it, as
// grpc-go's own TLS credentials would.
func HandoverCreds() credentials.TransportCredentials { return handoverCreds{} }

type handoverCreds struct{}

func (handoverCreds) ServerHandshake(c net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if tc, ok := c.(interface{ TLSConnectionState() *tls.ConnectionState }); ok {
		if cs := tc.TLSConnectionState(); cs != nil {
			return c, credentials.TLSInfo{State: *cs, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}, nil
		}
	}
	return nil, nil, errors.New("listener: a cleartext connection reached the TLS server")
}

func (handoverCreds) ClientHandshake(context.Context, string, net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return nil, nil, errors.New("listener: HandoverCreds are for the server side")
}

func (handoverCreds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls"}
}

func (c handoverCreds) Clone() credentials.TransportCredentials { return c }

func (handoverCreds) OverrideServerName(string) error { return nil }
