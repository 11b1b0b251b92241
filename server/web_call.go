package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/wasm/wire"
)

// webCalls serves binary gRPC-Web (application/grpc-web and
// application/grpc-web+proto) itself: each request goes straight to the
// registered handler on a callStream, with no trip through improbable-eng's
// wrapper and grpc-go's ServeHTTP transport: through them a unary call took
// 1.2x as long and a server stream carried a sixth of the messages per
// second (make bench, in the README). They still serve what this does not:
// the text encoding (application/grpc-web-text) and cross-origin requests,
// whose CORS the wrapper answers.
type webCalls struct {
	reg     *registry
	replies *replies
	log     *slog.Logger
	// writeTimeout bounds one write: a client that stops reading for this
	// long has its call ended, so nothing piles up for it.
	writeTimeout time.Duration
}

// serves reports whether w serves r itself: a binary gRPC-Web POST from
// the page's own origin, or from a client that is not a browser.
func (w *webCalls) serves(r *http.Request) bool {
	if r.Method != http.MethodPost {
		return false
	}
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || (ct != wire.ContentTypeWeb && ct != wire.ContentTypeProto) {
		return false
	}
	origin := r.Header.Get("Origin")
	return origin == "" || sameOrigin(origin, r)
}

// ServeHTTP serves one gRPC-Web call. Every outcome, a refusal included,
// is a 200 response whose body ends with a trailer block.
func (w *webCalls) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	c := &webCall{rw: rw, ctype: r.Header.Get("Content-Type"), writeTimeout: w.writeTimeout}
	method := r.URL.Path
	h, ok := w.reg.lookup(method)
	c.init(c, w.replies, w.log, method, h)
	ctx, cancel := context.WithCancelCause(r.Context())
	c.ctx, c.cancel = ctx, cancel
	defer cancel(errStreamDone)
	// The flusher must be done with rw before ServeHTTP returns, however
	// the call ended (a handler's panic included).
	defer func() {
		if c.flusher != nil {
			c.flusher.close()
		}
	}()
	if !ok {
		c.finish(status.Errorf(codes.Unimplemented, "unknown method %s", method))
		return
	}
	hdr, timeout, err := webRequestHeaders(r)
	if err != nil {
		c.finish(err)
		return
	}
	if timeout >= 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, timeout)
		defer cancelTimeout()
	}
	ctx = metadata.NewIncomingContext(ctx, incomingMD(hdr, r.Host))
	ctx = peer.NewContext(ctx, webPeer(r))
	c.ctx = c.withTransportStream(ctx)
	c.body = wire.NewReader(r.Body, w.replies.maxMsgSize)
	c.finish(c.run())
}

// webRequestHeaders reads a gRPC-Web request's headers as metadata
// (lower-case names, "-bin" values decoded) and its grpc-timeout
// (negative: none).
func webRequestHeaders(r *http.Request) (wire.MD, time.Duration, error) {
	hdr := make(wire.MD, len(r.Header))
	for k, vs := range r.Header {
		name := strings.ToLower(k)
		for _, v := range vs {
			dv, err := wire.DecodeValue(name, v)
			if err != nil {
				return nil, 0, status.Errorf(codes.InvalidArgument, "gRPC-Web: header %v", err)
			}
			hdr[name] = append(hdr[name], dv)
		}
	}
	timeout := time.Duration(-1)
	if v := hdr.Get(wire.HeaderTimeout); v != "" {
		d, err := wire.DecodeTimeout(v)
		if err != nil {
			return nil, 0, status.Errorf(codes.InvalidArgument, "gRPC-Web: %v", err)
		}
		timeout = d
	}
	return hdr, timeout, nil
}

func webPeer(r *http.Request) *peer.Peer {
	p := &peer.Peer{}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		p.Addr = net.TCPAddrFromAddrPort(ap)
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		p.LocalAddr = la
	}
	return p
}

// webCall is one gRPC-Web call: the callStream's transport over an HTTP
// request and its response. The response headers carry the handler's
// header metadata; the body carries the message frames and, last, the
// trailer block.
type webCall struct {
	callStream
	rw           http.ResponseWriter
	ctype        string
	body         *wire.Reader
	writeTimeout time.Duration
	flusher      *webFlusher // a server stream's, from its first message
}

// sendHeader implements callTransport. A server stream's headers go to
// the client at once, as a handler's SendHeader asks; the rest leave with
// the call's first write.
func (c *webCall) sendHeader(md metadata.MD) error {
	c.setHeaders(outgoingMD(md, len(md)))
	c.rw.WriteHeader(http.StatusOK)
	if c.serverStreams && !c.ended {
		if err := http.NewResponseController(c.rw).Flush(); err != nil {
			return writeError(err)
		}
	}
	return nil
}

// sendTrailersOnly implements trailersOnlyTransport: a call that ends
// before its first message answers with headers alone.
func (c *webCall) sendTrailersOnly(md metadata.MD, st *status.Status) error {
	h := outgoingMD(md, len(md)+3)
	wire.AppendStatus(h, st)
	c.setHeaders(h)
	c.rw.Header().Set("Content-Length", "0")
	c.rw.WriteHeader(http.StatusOK)
	return nil
}

// setHeaders sets the response's content type and md as its header fields.
func (c *webCall) setHeaders(md wire.MD) {
	h := c.rw.Header()
	h.Set("Content-Type", c.ctype)
	for k, vs := range md {
		if !wire.ValidName(k) {
			continue
		}
		for _, v := range vs {
			if ev, ok := wire.EncodeValue(k, v); ok {
				h.Add(k, ev)
			}
		}
	}
}

// send implements callTransport. A server stream's messages go through a
// webFlusher, which reaches the client without waiting for more; the end of
// the call (or a unary call's reply with it) is written and flushed here,
// after everything the flusher holds.
func (c *webCall) send(out []byte) error {
	if c.serverStreams && !c.ended {
		if c.flusher == nil {
			c.flusher = newWebFlusher(c.rw, c.writeTimeout)
		}
		return c.flusher.add(out)
	}
	if c.flusher != nil {
		if err := c.flusher.close(); err != nil {
			return err
		}
	}
	rc := http.NewResponseController(c.rw)
	rc.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	defer rc.SetWriteDeadline(time.Time{}) // the connection may serve more requests
	if _, err := c.rw.Write(out); err != nil {
		return writeError(err)
	}
	if err := rc.Flush(); err != nil {
		return writeError(err)
	}
	return nil
}

// writeError is the cause a failed write ends a call with.
func writeError(err error) error {
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return errClientStalled
	}
	return errClientGone
}

// recv implements callTransport: the next frame of the request body.
func (c *webCall) recv() ([]byte, error) {
	f, err := c.body.Next()
	switch {
	case err == nil && f.Flag == wire.FlagData:
		return f.Payload, nil
	case err == nil && f.Flag == wire.FlagCompressed:
		return nil, status.Error(codes.Unimplemented, "gRPC-Web: compressed messages are not supported")
	case err == nil:
		return nil, status.Errorf(codes.InvalidArgument, "gRPC-Web: request frame with flag 0x%02x", f.Flag)
	case err == io.EOF:
		return nil, io.EOF
	case errors.Is(err, wire.ErrFrameTooLarge):
		return nil, status.Errorf(codes.ResourceExhausted, "gRPC-Web: %v", err)
	case err == io.ErrUnexpectedEOF:
		return nil, status.Error(codes.InvalidArgument, "gRPC-Web: the request body ends before the length its last frame's prefix announces")
	case c.ctx.Err() != nil:
		return nil, c.ctxStatus()
	}
	return nil, status.Errorf(codes.Canceled, "gRPC-Web: read request: %v", err)
}

// release implements callTransport; the body's reader reuses its buffer.
func (c *webCall) release([]byte) {}

// webFlushBuffer is how many bytes of a server stream may wait for the
// flusher before the handler's next send waits too: a client that reads
// slowly slows its handler down instead of making the server buffer.
const webFlushBuffer = 64 << 10

// webFlusher writes a server stream's frames from a goroutine of its own.
// The handler's sends gather in pending while the flusher writes and
// flushes the previous batch, so a fast stream costs one flush per batch
// rather than one per message, and a slow one still reaches the client
// message by message, as soon as each is sent.
type webFlusher struct {
	rw           http.ResponseWriter
	rc           *http.ResponseController
	writeTimeout time.Duration
	done         chan struct{} // closed when the flusher goroutine has ended

	mu      sync.Mutex
	cond    *sync.Cond // pending has gained bytes or room, or the flusher has stopped
	pending []byte
	spare   []byte // the last batch's buffer, for the next
	closed  bool   // close was called: write what is left, then stop
	err     error  // why writing failed; nothing more is written
}

func newWebFlusher(rw http.ResponseWriter, writeTimeout time.Duration) *webFlusher {
	f := &webFlusher{rw: rw, rc: http.NewResponseController(rw), writeTimeout: writeTimeout, done: make(chan struct{})}
	f.cond = sync.NewCond(&f.mu)
	go f.run()
	return f
}

// add queues out, waiting while webFlushBuffer bytes are queued already.
func (f *webFlusher) add(out []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	for f.err == nil && len(f.pending) >= webFlushBuffer {
		f.cond.Wait()
	}
	if f.err != nil {
		return f.err
	}
	f.pending = append(f.pending, out...)
	f.cond.Broadcast()
	return nil
}

func (f *webFlusher) run() {
	defer close(f.done)
	f.mu.Lock()
	defer f.mu.Unlock()
	for {
		for len(f.pending) == 0 && !f.closed {
			f.cond.Wait()
		}
		if len(f.pending) == 0 {
			return // closed, and all written
		}
		batch := f.pending
		f.pending = f.spare[:0]
		f.cond.Broadcast() // room for the handler's sends
		f.mu.Unlock()
		err := f.write(batch)
		f.mu.Lock()
		if cap(batch) <= 4*webFlushBuffer {
			f.spare = batch[:0]
		}
		if err != nil {
			f.err = err
			f.pending = nil
			f.cond.Broadcast()
			return
		}
	}
}

// write writes and flushes one batch within the write timeout.
func (f *webFlusher) write(batch []byte) error {
	f.rc.SetWriteDeadline(time.Now().Add(f.writeTimeout))
	defer f.rc.SetWriteDeadline(time.Time{})
	if _, err := f.rw.Write(batch); err != nil {
		return writeError(err)
	}
	if err := f.rc.Flush(); err != nil {
		return writeError(err)
	}
	return nil
}

// close writes what is queued, stops the flusher and returns why writing
// failed, if it did. The caller may use the ResponseWriter again after.
func (f *webFlusher) close() error {
	f.mu.Lock()
	f.closed = true
	f.cond.Broadcast()
	f.mu.Unlock()
	<-f.done
	return f.err
}
