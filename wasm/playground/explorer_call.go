//go:build js && wasm && explorer

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"strconv"
	"sync"
	"syscall/js"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/explorer"
)

// explorerCall is a call the explorer made: what it sent, and the stream
// while it runs.
type explorerCall struct {
	method   *explorer.Method
	schema   *explorer.Schema
	metadata string // the editors' text when the call began, secrets left out unless kept
	deadline string
	stop     context.CancelFunc // releases the deadline's timer

	mu       sync.Mutex
	stream   *client.Stream
	sent     []string // the request messages, compact JSON
	halfDone bool     // the client has finished sending
	ended    bool
}

// open reports whether the call is a client or bidi stream that still
// takes messages.
func (c *explorerCall) open() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stream != nil && c.method.Kind.ClientStreams() && !c.halfDone && !c.ended
}

func (c *explorerCall) addSent(text string) {
	c.mu.Lock()
	c.sent = append(c.sent, text)
	c.mu.Unlock()
}

func (c *explorerCall) sentSoFar() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.sent...)
}

// options reads the metadata editor and the deadline field.
func (x *explorerView) options() (metadata.MD, time.Duration, error) {
	md, err := explorer.ParseMetadata(x.metadata.value())
	if err != nil {
		return nil, 0, err
	}
	d, err := explorer.ParseDeadline(x.deadline.value())
	if err != nil {
		return nil, 0, err
	}
	return md, d, nil
}

// refuse clears the last result and says, in its place, that nothing was
// sent and why.
func (x *explorerView) refuse(err error) {
	if err != errNoMethod {
		x.res.refuse(err.Error())
	}
}

// begin starts a call of m on the result view, with md and a deadline d,
// and opens its stream. It returns nil, the failure shown, when the stream
// cannot start.
func (x *explorerView) begin(m *explorer.Method, s *explorer.Schema, md metadata.MD, d time.Duration) *explorerCall {
	x.method.setEnabled(false)
	x.buttons("cancel")
	x.grpcurl.clear()
	ctx := x.res.begin(m, s)
	kept, _ := x.shareable()
	call := &explorerCall{method: m, schema: s, metadata: kept, deadline: x.deadline.value(), stop: func() {}}
	if d > 0 {
		ctx, call.stop = context.WithTimeout(ctx, d)
	}
	if x.trace.v.Get("checked").Bool() {
		md = x.startTrace(md)
	}
	if len(md) > 0 {
		ctx = metadata.NewOutgoingContext(ctx, md)
	}
	x.mu.Lock()
	x.call = call
	x.mu.Unlock()
	st, err := x.conn.NewStream(ctx, m.StreamDesc(), m.Path)
	if err != nil {
		x.finish(call, err, nil, nil)
		return nil
	}
	call.mu.Lock()
	call.stream = st
	call.mu.Unlock()
	return call
}

// startTrace returns md with a fresh traceparent, which starts a trace
// for the call, and shows the trace's id in the result
// ([data-role="trace-id"]) and its log.
func (x *explorerView) startTrace(md metadata.MD) metadata.MD {
	tp, id, err := explorer.NewTraceparent(rand.Reader)
	if err != nil {
		x.res.logf(err.Error())
		return md
	}
	md = md.Copy()
	md.Set(explorer.TraceparentHeader, tp)
	x.res.traceID.setAttr("data-trace-id", id)
	x.res.traceID.setText(" trace " + id)
	x.res.logf("trace " + id + " (traceparent " + tp + ")")
	return md
}

// callOnce calls a unary or server-streaming method with the request
// editor's JSON, which must parse: a request that does not is shown with
// protojson's error and never sent.
func (x *explorerView) callOnce() {
	m, s, err := x.checkRequest()
	var md metadata.MD
	var d time.Duration
	if err == nil {
		md, d, err = x.options()
	}
	if err != nil {
		x.refuse(err)
		return
	}
	if m.Kind.ClientStreams() {
		return
	}
	text := x.request.value()
	req, err := s.ParseRequest(m, text)
	if err != nil {
		x.refuse(err)
		return
	}
	call := x.begin(m, s, md, d)
	if call == nil {
		return
	}
	sent := explorer.CompactJSON(text)
	call.addSent(sent)
	x.res.sentMsg(sent)
	if err := call.stream.SendMsg(req); err != nil && err != io.EOF {
		x.finish(call, err, nil, nil)
		return
	}
	x.receive(call)
}

// open opens a client or bidi stream; its messages come from Send.
func (x *explorerView) open() {
	x.mu.Lock()
	m, s := x.current, x.schema
	x.mu.Unlock()
	if m == nil || !m.Kind.ClientStreams() {
		return
	}
	md, d, err := x.options()
	if err != nil {
		x.refuse(err)
		return
	}
	call := x.begin(m, s, md, d)
	if call == nil {
		return
	}
	x.res.logf("stream open")
	x.buttons("send", "close-send", "cancel")
	x.receive(call)
}

// replayCall sends the messages of the last stream (or of the link that
// opened the page) again, in order, on a new stream, then half-closes it.
// Every message must parse before the stream opens.
func (x *explorerView) replayCall() {
	x.mu.Lock()
	m, s, msgs := x.current, x.schema, append([]string(nil), x.replay...)
	x.mu.Unlock()
	if m == nil || s == nil || !m.Kind.ClientStreams() || len(msgs) == 0 {
		return
	}
	reqs := make([]proto.Message, len(msgs))
	for i, text := range msgs {
		req, err := s.ParseRequest(m, text)
		if err != nil {
			x.refuse(errors.New("message " + strconv.Itoa(i+1) + " of the replay: " + err.Error()))
			return
		}
		reqs[i] = req
	}
	md, d, err := x.options()
	if err != nil {
		x.refuse(err)
		return
	}
	call := x.begin(m, s, md, d)
	if call == nil {
		return
	}
	x.res.logf("replay: " + plural(len(msgs), "message"))
	go func() {
		for i, req := range reqs {
			if err := call.stream.SendMsg(req); err != nil {
				return // the receiver shows how the call ended
			}
			call.addSent(explorer.CompactJSON(msgs[i]))
			x.res.sentMsg(explorer.CompactJSON(msgs[i]))
		}
		call.mu.Lock()
		call.halfDone = true
		call.mu.Unlock()
		x.res.logf("→ half-close")
		call.stream.CloseSend()
	}()
	x.receive(call)
}

// receive takes the call's responses as they arrive, then shows how it
// ended. A response's bytes are kept as they came (an Empty holds them all
// as unknown fields) and decoded only when shown.
func (x *explorerView) receive(call *explorerCall) {
	st := call.stream
	for {
		raw := new(emptypb.Empty)
		if err := st.RecvMsg(raw); err != nil {
			header, _ := st.Header()
			x.finish(call, err, header, st.Trailer())
			return
		}
		x.res.receivedMsg(raw.ProtoReflect().GetUnknown())
	}
}

// send sends the request editor's JSON on the open stream, if it parses.
func (x *explorerView) send() {
	x.mu.Lock()
	call := x.call
	x.mu.Unlock()
	if call == nil || !call.open() {
		return
	}
	text := x.request.value()
	req, err := call.schema.ParseRequest(call.method, text)
	if err != nil {
		x.showRequestError(text, err)
		x.res.message.setText("not sent: " + err.Error())
		return
	}
	x.res.message.clear()
	if err := call.stream.SendMsg(req); err != nil {
		if err != io.EOF { // io.EOF: the call ended, and its receiver says how
			x.res.message.setText("send: " + err.Error())
		}
		return
	}
	sent := explorer.CompactJSON(text)
	call.addSent(sent)
	x.res.sentMsg(sent)
	x.saveFragment()
}

// closeSend half-closes the open stream: the server's answers go on.
func (x *explorerView) closeSend() {
	x.mu.Lock()
	call := x.call
	x.mu.Unlock()
	if call == nil || !call.open() {
		return
	}
	call.mu.Lock()
	call.halfDone = true
	call.mu.Unlock()
	x.buttons("cancel")
	x.res.logf("→ half-close")
	call.stream.CloseSend()
}

// finish shows how the call ended and keeps it in the history; a stream's
// messages become what Replay sends.
func (x *explorerView) finish(call *explorerCall, err error, header, trailer metadata.MD) {
	call.mu.Lock()
	call.ended = true
	call.mu.Unlock()
	code := x.res.end(err, header, trailer)
	call.stop()
	if sent := call.sentSoFar(); call.method.Kind.ClientStreams() && len(sent) > 0 {
		x.mu.Lock()
		if x.current == call.method {
			x.replay = sent
		}
		x.mu.Unlock()
	}
	x.idle()
	x.addHistory(call, grpcstatus.Code(ignoreEOF(err)).String())
	if code == codes.Unavailable {
		x.res.logf("the server, or its backend, is not answering")
	}
}

func ignoreEOF(err error) error {
	if err == io.EOF {
		return nil
	}
	return err
}

// copyGrpcurl shows, and copies to the clipboard when the browser lets
// it, a grpcurl command that repeats the call against the page's own
// server: the request editor's JSON, or, for a client or bidi stream, the
// messages its last stream sent.
func (x *explorerView) copyGrpcurl() {
	x.mu.Lock()
	m, call, replay := x.current, x.call, x.replay
	x.mu.Unlock()
	if m == nil {
		return
	}
	md, d, err := x.options()
	if err != nil {
		x.refuse(err)
		return
	}
	requests := []string{x.request.value()}
	if m.Kind.ClientStreams() {
		switch {
		case call != nil && call.method == m && len(call.sentSoFar()) > 0:
			requests = call.sentSoFar()
		case len(replay) > 0:
			requests = replay
		}
	}
	loc := js.Global().Get("location")
	target, tls := explorer.GrpcurlTarget(loc.Get("protocol").String(), loc.Get("host").String())
	cmd := explorer.GrpcurlCommand(target, tls, m.Path, requests, md, d)
	x.grpcurl.setText(cmd)
	if clip := js.Global().Get("navigator").Get("clipboard"); clip.Truthy() {
		clip.Call("writeText", cmd).Call("catch", x.ignore) // refused: the command shows on the page anyway
	}
}
