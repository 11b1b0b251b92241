package grpchttp

import (
	"cmp"
	"context"
	"crypto/tls"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// httpCalls serves the gRPC calls that arrive as HTTP requests, each on a
// call, straight to the registered handler: gRPC-Web (binary, text and
// JSON, on HTTP/1.1 and HTTP/2) with its trailers in the body, and native
// gRPC (application/grpc, on HTTP/2) with HTTP/2 trailers. One transport
// serves both: the protocol is a value (web, text), not a copy of the code.
// Reads and writes are bounded in size and in time, and the body is read
// only as fast as the handler takes its messages, so HTTP/2 flow control
// reaches the client.
type httpCalls struct {
	h *Handler
}

// ServeHTTP serves one call. Every outcome after the request's method and
// protocol version were accepted, a refusal included, is a gRPC status.
func (hc *httpCalls) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	h := hc.h
	ct, _ := grpcwire.ParseContentType(r.Header.Get("Content-Type"))
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", http.MethodPost)
		http.Error(rw, "gRPC calls are POST requests", http.StatusMethodNotAllowed)
		return
	}
	if !ct.Web && r.ProtoMajor < 2 {
		http.Error(rw, "gRPC needs HTTP/2; over HTTP/1.1 use gRPC-Web (application/grpc-web)", http.StatusHTTPVersionNotSupported)
		return
	}
	h.inflight.add()
	defer h.inflight.done()
	parent, release := h.callContext(r)
	defer release()

	t := &httpCall{
		rw:             rw,
		rc:             http.NewResponseController(rw),
		web:            ct.Web,
		text:           ct.Text,
		ctype:          r.Header.Get("Content-Type"),
		writeTimeout:   h.opts.writeTimeout,
		messageTimeout: h.opts.messageTimeout,
	}
	defer t.stopWriter()
	method := r.URL.Path
	release, err := h.opts.limits.acquire(clientOf(r.RemoteAddr))
	if err == nil {
		defer release()
	}
	hd, lookupErr := h.reg.lookup(method)
	md, mdErr := httpRequestMD(r.Header)
	var req callRequest
	if mdErr == nil {
		req, mdErr = parseRequest(md, r.Host, h.calls.codec, h.opts.browserHeaders)
	}
	err = cmp.Or(err, mdErr, lookupErr)
	c := newCall(parent, h.calls, t, method, hd, req, protocolName(ct), httpPeer(r))
	t.c = c
	t.reqBody = &eofReader{r: r.Body}
	if err != nil {
		h.opts.log.Debug("call refused", "method", method, "protocol", protocolName(ct), "code", status.Code(err), "msg", status.Convert(err).Message())
		t.endReads(r)
		c.finish(err)
		return
	}
	body := io.Reader(t.reqBody)
	if t.text {
		body = &base64Reader{r: t.reqBody}
	}
	t.body = grpcwire.NewRequestReader(body, h.calls.maxRecvMsgSize)
	t.body.Started, t.body.Begin = t.startMessage, t.beginMessage
	if !c.clientStreams {
		// The one request message comes with the request: all of it, and
		// its end, within the message timeout.
		t.start = c.begin
		t.setMessageDeadline(messageDeadline(c.begin, t.messageTimeout, 0))
	}
	// A call that ends (a deadline, shutdown) while its handler waits for
	// the body must wake that read.
	stop := context.AfterFunc(c.ctx, t.interruptRead)
	err = c.run()
	stop()
	t.endReads(r)
	c.finish(err)
}

// eofReader is a request body that remembers whether it was read to its
// end (or to a premature end): then nothing is left of it to wait for.
type eofReader struct {
	r   io.Reader
	eof atomic.Bool
}

func (e *eofReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		e.eof.Store(true)
	}
	return n, err
}

// httpPeer is the peer of an HTTP request.
func httpPeer(r *http.Request) *peer.Peer {
	var remote, local net.Addr
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		remote = net.TCPAddrFromAddrPort(ap)
	}
	if la, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		local = la
	}
	return newPeer(remote, local, requestTLS(r))
}

// tlsStateKey is the context key of a connection's TLS state when net/http
// cannot see it (tlsConn).
type tlsStateKey struct{}

// requestTLS is the TLS state of the connection r came on, or nil.
func requestTLS(r *http.Request) *tls.ConnectionState {
	if r.TLS != nil {
		return r.TLS
	}
	cs, _ := r.Context().Value(tlsStateKey{}).(*tls.ConnectionState)
	return cs
}

// httpCall is one call's transport over an HTTP request and its response.
type httpCall struct {
	c              *call
	rw             http.ResponseWriter
	rc             *http.ResponseController
	web, text      bool // gRPC-Web (trailers in the body), base64 bodies
	ctype          string
	reqBody        *eofReader // the request's body
	body           *grpcwire.Reader
	writeTimeout   time.Duration
	messageTimeout time.Duration
	start          time.Time // when the request message being read began

	writer      *grpcwire.BatchWriter // a server stream's, from its first message
	enc         []byte                // base64 output buffer (text)
	wroteHeader bool                  // the response's headers are written

	// bodyMu is held while the body is read (recv), so that closeReads
	// can wait for a read in progress: no goroutine of the handler's may
	// touch the request once ServeHTTP returns.
	bodyMu      sync.Mutex
	readMu      sync.Mutex // guards readDone and the read deadline
	readDone    bool       // reading is over: the deadline is not touched again
	sawEOF      bool       // the body was read to its end (bodyMu)
	msgDeadline time.Time  // the message deadline set last (bodyMu)
}

// startMessage bounds how long a message of a client stream may take to
// arrive once its first byte has. Between messages the client may wait as
// long as it likes.
func (t *httpCall) startMessage() {
	if t.c.clientStreams {
		t.start = time.Now()
		t.setMessageDeadline(messageDeadline(t.start, t.messageTimeout, 0))
	}
}

// beginMessage gives the payload announced its share of time.
func (t *httpCall) beginMessage(n int) {
	t.setMessageDeadline(messageDeadline(t.start, t.messageTimeout, n))
}

// setMessageDeadline sets the read deadline of the message being read
// (zero: none), and remembers it: a read that times out at it is the
// client's slowness, not the call's end (interruptRead).
func (t *httpCall) setMessageDeadline(d time.Time) {
	t.msgDeadline = d
	t.readMu.Lock()
	defer t.readMu.Unlock()
	if !t.readDone {
		t.rc.SetReadDeadline(d)
	}
}

// interruptRead wakes a read of the body when the call ends early.
func (t *httpCall) interruptRead() {
	t.readMu.Lock()
	defer t.readMu.Unlock()
	if !t.readDone {
		t.rc.SetReadDeadline(time.Now())
	}
}

// doneReading ends the call's reads once the body is read: the
// connection may serve more requests, with deadlines of their own. Once
// done, nothing touches the read deadline again.
func (t *httpCall) doneReading() {
	t.readMu.Lock()
	defer t.readMu.Unlock()
	if !t.readDone {
		t.readDone = true
		t.rc.SetReadDeadline(time.Time{})
	}
}

// endReads ends the call's reads before its response is written, once
// its handler has returned or it was refused:
//
//   - a read still in progress, on a goroutine the handler left behind (a
//     proxy's request copier whose backend ended the call first, say), is
//     waited for, and later reads fail at once without touching the
//     request, which net/http takes back when ServeHTTP returns. On HTTP/2
//     it is woken at once; on HTTP/1.1 it has the drain's time (below);
//   - on HTTP/1.1 a body not read to its end is closed now, its rest
//     given abandonDrain to arrive: net/http would otherwise read (or wait
//     for) the rest of a declared Content-Length before it writes the
//     response's headers, so a client that stalls its body would get no
//     answer. When the rest did not arrive, the connection closes after
//     the response;
//   - the read deadline is cleared when the connection may serve more
//     requests.
func (t *httpCall) endReads(r *http.Request) {
	exhausted := t.reqBody.eof.Load()
	drain := r.ProtoMajor == 1 && !exhausted
	var drainBy time.Time
	if drain {
		// net/http reads what is left (up to 256 KiB) before it answers:
		// a client still sending gets a moment to finish, so that it reads
		// the answer instead of a reset (a call refused before it read
		// anything, the time its message had); a stalled one, no more.
		drainBy = time.Now().Add(abandonDrain)
		if d := messageDeadline(t.c.begin, t.messageTimeout, 0); d.After(drainBy) {
			drainBy = d
		}
	}
	t.readMu.Lock()
	t.readDone = true
	// Only a read in progress is woken: a read that times out leaves the
	// body broken for good (a chunked body keeps its error), and the
	// connection then closes after the response. So on HTTP/1.1 the read
	// in progress gets the drain's time, as the rest of the body does: a
	// client still sending gets its answer on a connection that serves
	// on, instead of a reset in the middle of its request.
	idle := t.bodyMu.TryLock()
	if !exhausted && !idle {
		t.rc.SetReadDeadline(cmp.Or(drainBy, time.Now()))
	}
	t.readMu.Unlock()
	if !idle {
		t.bodyMu.Lock()
	}
	t.bodyMu.Unlock()
	if drain {
		t.rc.SetReadDeadline(drainBy)
		if r.Body.Close() != nil {
			return // the connection closes after the response
		}
	}
	t.rc.SetReadDeadline(time.Time{})
}

// abandonDrain is how long the rest of an HTTP/1.1 request body may take
// to arrive once its call has ended without it.
const abandonDrain = time.Second

// sendHeader implements callTransport.
//
// Unless flushed, the headers wait for the body's first write, so a call
// whose reply leaves with its trailers is one write, with a
// Content-Length (end).
func (t *httpCall) sendHeader(md metadata.MD, flush bool) error {
	t.setHeaders(outgoingMD(md, len(md)))
	if flush {
		t.wroteHeader = true
		t.rw.WriteHeader(http.StatusOK)
		return t.flushWithin()
	}
	return nil
}

// setHeaders sets the response's content type and md as header fields.
func (t *httpCall) setHeaders(md metadata.MD) {
	h := t.rw.Header()
	h.Set("Content-Type", t.ctype)
	setHeaderMD(h, "", md)
}

// setHeaderMD adds md to h, each name with prefix (http.TrailerPrefix for
// HTTP/2 trailers), "-bin" values base64-encoded; what a header cannot
// carry is left out.
func setHeaderMD(h http.Header, prefix string, md metadata.MD) {
	for k, vs := range md {
		if !grpcwire.ValidName(k) {
			continue
		}
		for _, v := range vs {
			if ev, ok := grpcwire.EncodeValue(k, v); ok {
				h[prefix+k] = append(h[prefix+k], ev)
			}
		}
	}
}

// send implements callTransport: a server stream's messages go through a
// grpcwire.BatchWriter, which reaches the client without waiting for more.
func (t *httpCall) send(frames []byte) error {
	if t.writer == nil {
		t.writer = grpcwire.NewBatchWriter(t.write, webFlushBuffer, nil)
	}
	return t.writer.Add(func(b []byte) ([]byte, error) { return append(b, frames...), nil })
}

// webFlushBuffer is how many bytes of a server stream may wait for the
// writer before the handler's next send waits too: a client that reads
// slowly slows its handler down instead of making the server buffer.
const webFlushBuffer = 64 << 10

// end implements callTransport.
func (t *httpCall) end(frames []byte, md metadata.MD, st *status.Status, trailersOnly bool) error {
	if trailersOnly {
		t.setHeaders(trailerMD(md, st))
		if t.web {
			t.rw.Header().Set("Content-Length", "0")
		}
		t.rw.WriteHeader(http.StatusOK)
		return nil
	}
	if err := t.stopWriter(); err != nil {
		return err
	}
	if t.web {
		frames = t.c.srv.replies.appendTrailer(frames, md, st)
		if !t.wroteHeader {
			// All of the body is here: its length goes in the headers, and
			// net/http has nothing to add after it (no chunk terminator).
			n := len(frames)
			if t.text {
				n = base64.StdEncoding.EncodedLen(n)
			}
			t.rw.Header().Set("Content-Length", strconv.Itoa(n))
		}
		return t.write(frames)
	}
	if len(frames) > 0 {
		if err := t.write(frames); err != nil {
			return err
		}
	}
	setHeaderMD(t.rw.Header(), http.TrailerPrefix, trailerMD(md, st))
	return nil
}

// stopWriter writes what a server stream's writer holds and stops it; it
// returns why writing failed, if it did. The ResponseWriter is ours again
// after.
func (t *httpCall) stopWriter() error {
	if t.writer == nil {
		return nil
	}
	t.writer.Finish(nil)
	err := t.writer.Wait()
	t.writer = nil
	return err
}

// write writes b (base64 for a text call) and flushes, within the write
// timeout.
func (t *httpCall) write(b []byte) error {
	if t.text {
		t.enc = base64.StdEncoding.AppendEncode(t.enc[:0], b)
		b = t.enc
	}
	t.rc.SetWriteDeadline(time.Now().Add(t.writeTimeout))
	defer t.rc.SetWriteDeadline(time.Time{}) // the connection may serve more requests
	t.wroteHeader = true
	if _, err := t.rw.Write(b); err != nil {
		return writeError(err)
	}
	if err := t.rc.Flush(); err != nil {
		return writeError(err)
	}
	return nil
}

// flushWithin flushes what was written, within the write timeout.
func (t *httpCall) flushWithin() error {
	t.rc.SetWriteDeadline(time.Now().Add(t.writeTimeout))
	defer t.rc.SetWriteDeadline(time.Time{})
	if err := t.rc.Flush(); err != nil {
		return writeError(err)
	}
	return nil
}

// recv implements callTransport: the next frame of the request body.
func (t *httpCall) recv() (grpcwire.Frame, error) {
	t.bodyMu.Lock()
	defer t.bodyMu.Unlock()
	if t.sawEOF {
		return grpcwire.Frame{}, io.EOF
	}
	if t.readsEnded() {
		return grpcwire.Frame{}, errReadsEnded
	}
	f, err := t.body.Next()
	switch {
	case err == nil:
		if t.c.clientStreams {
			t.setMessageDeadline(time.Time{}) // the next message may take its time to begin
		}
		return f, nil
	case err == io.EOF:
		// The body is read: no deadline of ours may outlive it, for on
		// HTTP/1.1 net/http reads on in the background, and a read that
		// times out cancels the connection's context, this call's and the
		// next one's on it.
		t.sawEOF = true
		t.doneReading()
		return grpcwire.Frame{}, io.EOF
	case isTimeout(err) && !t.msgDeadline.IsZero() && !time.Now().Before(t.msgDeadline):
		// Our message deadline, not the call's end: the client is slow.
		err := readTimeoutError(t.messageTimeout)
		t.c.cancel(err)
		return grpcwire.Frame{}, err
	case t.c.ctx.Err() != nil:
		return grpcwire.Frame{}, t.c.ctxStatus()
	case t.readsEnded():
		return grpcwire.Frame{}, errReadsEnded // endReads woke the read: the call is ending
	}
	if _, ok := status.FromError(err); ok {
		return grpcwire.Frame{}, err
	}
	t.c.cancel(errClientGone)
	return grpcwire.Frame{}, errClientGone
}

// errReadsEnded is what a read of a call whose handler has returned gets.
var errReadsEnded = status.Error(codes.Canceled, "the call has ended: its requests are no longer read")

// readsEnded reports whether endReads has run.
func (t *httpCall) readsEnded() bool {
	t.readMu.Lock()
	defer t.readMu.Unlock()
	return t.readDone && !t.sawEOF
}

// release implements callTransport; the body's reader reuses its buffer.
func (t *httpCall) release([]byte) {}
