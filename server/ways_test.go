package server_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server/servertest"
)

// A way is one way a gRPC call reaches the server over HTTP: a protocol
// (gRPC-Web binary or text, or native gRPC), an HTTP version, cleartext or
// TLS, and the origin it comes from. The tests run the same calls every
// way, and expect the same answers.
type way struct {
	name   string
	client *http.Client
	base   string      // http://host:port or https://host:port
	ctype  string      // the request's content type
	header http.Header // more request headers (Origin)
	proto  int         // the HTTP major version the response must come with
}

func (w way) text() bool   { return strings.HasPrefix(w.ctype, grpcwire.ContentTypeText) }
func (w way) native() bool { ct, _ := grpcwire.ParseContentType(w.ctype); return !ct.Web }

// h1Client speaks HTTP/1.1 only.
func h1Client() *http.Client {
	tr := &http.Transport{}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetHTTP1(true)
	return &http.Client{Transport: tr}
}

// h2cClient speaks HTTP/2 with prior knowledge over cleartext, as reverse
// proxies and buf curl --http2-prior-knowledge do.
func h2cClient() *http.Client {
	tr := &http.Transport{}
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: tr}
}

// tlsClient speaks HTTP/2 (or, with h1, HTTP/1.1) over TLS, trusting cert's
// authority, as a browser does.
func tlsClient(cert *servertest.Certificate, h1 bool) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: cert.Pool}}
	tr.Protocols = new(http.Protocols)
	if h1 {
		tr.Protocols.SetHTTP1(true)
	} else {
		tr.Protocols.SetHTTP2(true)
	}
	return &http.Client{Transport: tr}
}

// pinToNetHTTP makes the client's connection open with a request that is
// not native gRPC, so the server hands it to net/http (not to grpc-go's
// transport) for its lifetime: native calls on it then reach our own call
// core.
func pinToNetHTTP(t *testing.T, c *http.Client, base string) {
	t.Helper()
	resp, err := c.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// waysTo lists the ways to reach a cleartext server at addr (listing
// origin among its allowed ones) and a TLS server at tlsAddr with cert.
func waysTo(t *testing.T, addr, origin, tlsAddr string, cert *servertest.Certificate) []way {
	h1, h2c, h2cNative := h1Client(), h2cClient(), h2cClient()
	pinToNetHTTP(t, h2cNative, "http://"+addr)
	tls2, tls1, tlsNative := tlsClient(cert, false), tlsClient(cert, true), tlsClient(cert, false)
	pinToNetHTTP(t, tlsNative, "https://"+tlsAddr)
	cross := http.Header{"Origin": {origin}}
	plain, secure := "http://"+addr, "https://"+tlsAddr
	return []way{
		{name: "grpc-web/h1", client: h1, base: plain, ctype: grpcwire.ContentTypeProto, proto: 1},
		{name: "grpc-web-text/h1", client: h1, base: plain, ctype: grpcwire.ContentTypeText, proto: 1},
		{name: "grpc-web/h1/cross-origin", client: h1, base: plain, ctype: grpcwire.ContentTypeProto, header: cross, proto: 1},
		{name: "grpc-web-text/h1/cross-origin", client: h1, base: plain, ctype: grpcwire.ContentTypeText, header: cross, proto: 1},
		{name: "grpc-web/h2c", client: h2c, base: plain, ctype: grpcwire.ContentTypeProto, proto: 2},
		{name: "grpc-web-text/h2c", client: h2c, base: plain, ctype: grpcwire.ContentTypeText, proto: 2},
		{name: "grpc/h2c/net-http", client: h2cNative, base: plain, ctype: grpcwire.ContentTypeGRPC, proto: 2},
		{name: "grpc-web/tls-h2", client: tls2, base: secure, ctype: grpcwire.ContentTypeProto, proto: 2},
		{name: "grpc-web-text/tls-h1", client: tls1, base: secure, ctype: grpcwire.ContentTypeText, proto: 1},
		{name: "grpc/tls-h2/net-http", client: tlsNative, base: secure, ctype: grpcwire.ContentTypeGRPC, proto: 2},
	}
}

// webResult is a call's response, read whole.
type webResult struct {
	resp     *http.Response
	messages [][]byte
	// trailer is the trailers: the trailer block of gRPC-Web, HTTP/2's
	// trailers of gRPC, or for a trailers-only response the headers.
	trailer metadata.MD
}

func (r webResult) code() string { return grpcwire.First(r.trailer, grpcwire.HeaderStatus) }

// post makes a call of method with body (frames) and reads the response.
func (w way) post(t *testing.T, method string, body []byte) webResult {
	t.Helper()
	resp := w.start(t, method, body)
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: HTTP %d: %s", w.name, resp.StatusCode, b)
	}
	if resp.ProtoMajor != w.proto {
		t.Fatalf("%s: served over HTTP/%d", w.name, resp.ProtoMajor)
	}
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: read response: %v", w.name, err)
	}
	if w.text() {
		if raw, err = decodeText(raw); err != nil {
			t.Fatalf("%s: response body: %v", w.name, err)
		}
	}
	res := webResult{resp: resp}
	fr := grpcwire.NewResponseReader(bytes.NewReader(raw), 1<<24)
	for {
		f, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: read response: %v", w.name, err)
		}
		if f.IsTrailer() {
			if w.native() {
				t.Fatalf("%s: a trailer block in a gRPC body", w.name)
			}
			if res.trailer, err = grpcwire.ParseHeaderBlock(f.Payload); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if res.trailer != nil {
			t.Fatalf("%s: a message after the trailer block", w.name)
		}
		res.messages = append(res.messages, bytes.Clone(f.Payload))
	}
	if res.trailer == nil && w.native() && len(resp.Trailer) > 0 {
		res.trailer = headerMD(t, resp.Trailer)
	}
	if res.trailer == nil { // trailers-only: the status in the headers
		res.trailer = headerMD(t, resp.Header)
		if len(res.messages) > 0 {
			t.Fatalf("%s: messages without trailers", w.name)
		}
	}
	return res
}

// start makes a call of method with body and returns the response as
// soon as its headers arrive, its body unread.
func (w way) start(t *testing.T, method string, body []byte) *http.Response {
	t.Helper()
	if w.text() {
		body = []byte(base64.StdEncoding.EncodeToString(body))
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, w.base+method, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.ctype)
	if w.native() {
		req.Header.Set("TE", "trailers")
	} else {
		req.Header.Set("X-Grpc-Web", "1")
	}
	for k, v := range w.header {
		req.Header[k] = v
	}
	resp, err := w.client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", w.name, err)
	}
	return resp
}

// headerMD reads HTTP header fields as metadata, "-bin" values decoded.
func headerMD(t *testing.T, h http.Header) metadata.MD {
	md := metadata.MD{}
	for k, vs := range h {
		name := strings.ToLower(k)
		for _, v := range vs {
			dv, err := grpcwire.DecodeValue(name, v)
			if err != nil {
				t.Fatal(err)
			}
			md[name] = append(md[name], dv)
		}
	}
	return md
}

// decodeText decodes a grpc-web-text body: base64, where each chunk may
// end with padding and another begin.
func decodeText(b []byte) ([]byte, error) {
	var out []byte
	for len(b) > 0 {
		n := len(b)
		if i := bytes.IndexByte(b, '='); i >= 0 {
			n = i
			for n < len(b) && b[n] == '=' {
				n++
			}
		}
		d, err := base64.StdEncoding.DecodeString(string(b[:n]))
		if err != nil {
			return nil, err
		}
		out = append(out, d...)
		b = b[n:]
	}
	return out, nil
}

// dialRaw opens a plain TCP connection to addr for a test that writes the
// protocol by hand.
func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
