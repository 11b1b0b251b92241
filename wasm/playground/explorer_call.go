//go:build js && wasm

package main

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"syscall/js"
	"time"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcplay/playground/wasm/client"
	"github.com/grpcplay/playground/wasm/explorer"
)

// explorerCall is a call the explorer made: what it sent, and the stream
// while it runs.
type explorerCall struct {
	method   *explorer.Method
	schema   *explorer.Schema
	metadata string // the editors' text when the call began
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

// options reads the metadata editor and the deadline field, showing what
// does not parse.
func (x *explorerView) options() (metadata.MD, time.Duration, error) {
	md, err := explorer.ParseMetadata(x.metadata.value())
	if err == nil {
		var d time.Duration
		if d, err = explorer.ParseDeadline(x.deadline.value()); err == nil {
			return md, d, nil
		}
	}
	x.requestErr.setText(err.Error())
	return nil, 0, err
}

// refuse says, where the call's status would be, that nothing was sent
// and why.
func (x *explorerView) refuse(err error) {
	if err != errNoMethod {
		x.res.fail("not sent: " + err.Error())
	}
}

// begin starts a call of m on the result views, with md and a deadline d,
// and opens its stream. It returns nil, the failure shown, when the stream
// cannot start.
func (x *explorerView) begin(m *explorer.Method, s *explorer.Schema, md metadata.MD, d time.Duration) *explorerCall {
	x.method.setEnabled(false)
	x.res.buttons("cancel")
	ctx := x.res.begin()
	x.root.find(`[data-role="details"]`).clear()
	call := &explorerCall{method: m, schema: s, metadata: x.metadata.value(), deadline: x.deadline.value(), stop: func() {}}
	if d > 0 {
		ctx, call.stop = context.WithTimeout(ctx, d)
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

// callOnce calls a unary or server-streaming method with the request
// editor's JSON, which must parse: a request that does not is shown with
// protojson's error and never sent.
func (x *explorerView) callOnce() {
	m, s, err := x.checkRequest()
	if err == nil {
		_, _, err = x.options()
	}
	if err != nil {
		x.refuse(err)
		return
	}
	if m.Kind.ClientStreams() {
		return
	}
	md, d, _ := x.options()
	text := x.request.value()
	req, err := s.ParseRequest(m, text)
	if err != nil {
		return
	}
	call := x.begin(m, s, md, d)
	if call == nil {
		return
	}
	sent := explorer.CompactJSON(text)
	call.addSent(sent)
	x.res.logf("→ " + short(sent))
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
	x.res.buttons("send", "close-send", "cancel")
	x.receive(call)
}

// receive shows the call's responses as they arrive, then how it ended.
func (x *explorerView) receive(call *explorerCall) {
	st := call.stream
	for {
		resp := call.method.NewResponse()
		err := st.RecvMsg(resp)
		if err != nil {
			header, _ := st.Header()
			x.finish(call, err, header, st.Trailer())
			return
		}
		n := x.received(call, resp)
		if call.method.Desc.IsStreamingServer() {
			x.res.setProgress(plural(n, "message") + " · " + ms(x.res.elapsed()))
		}
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
		err = errors.New("request: " + err.Error())
		x.requestErr.setText(err.Error())
		x.res.fail("not sent: " + err.Error())
		return
	}
	x.requestErr.clear()
	x.res.message.clear()
	if err := call.stream.SendMsg(req); err != nil {
		if err != io.EOF { // io.EOF: the call ended, and its receiver says how
			x.res.fail("send: " + err.Error())
		}
		return
	}
	sent := explorer.CompactJSON(text)
	call.addSent(sent)
	x.res.sent.append(create("li", "", sent))
	x.res.sent.scrollToEnd()
	x.res.logf("→ " + short(sent))
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
	x.res.buttons("cancel")
	x.res.logf("→ half-close")
	call.stream.CloseSend()
}

// received shows one response: its protojson (in data-json, and indented),
// its relative time, and its wire view.
func (x *explorerView) received(call *explorerCall, resp *dynamicpb.Message) int {
	compact, err := call.schema.FormatMessage(resp, false)
	pretty := explorer.IndentJSON(compact)
	if err != nil {
		compact, pretty = "", "cannot write this message as JSON: "+err.Error()
	}
	body := `<pre>` + escapeHTML(pretty) + `</pre>`
	if w, err := explorer.Wire(resp); err == nil {
		body += `<details class="wire" data-role="wire" data-bytes="` + strconv.Itoa(len(w.Frame)) + `"><summary>wire: frame of ` +
			strconv.Itoa(len(w.Frame)) + ` bytes (5-byte prefix, ` + strconv.Itoa(len(w.Frame)-5) + `-byte message)` +
			unknownCount(len(w.Unknown)) + `</summary><pre>` + explorer.Hex(w.Frame, maxHexBytes) + `</pre>`
		if len(w.Unknown) > 0 {
			body += `<ul data-role="unknown">`
			for _, u := range w.Unknown {
				body += `<li>` + escapeHTML(u) + `</li>`
			}
			body += `</ul>`
		}
		body += `</details>`
	}
	return x.res.addResponse(` data-json="`+escapeHTML(compact)+`"`, body, short(compact))
}

// maxHexBytes bounds the bytes a wire view shows.
const maxHexBytes = 1024

func unknownCount(n int) string {
	if n == 0 {
		return ""
	}
	return ", " + plural(n, "unknown field")
}

// finish shows how the call ended, with its status details decoded, and
// keeps it in the history.
func (x *explorerView) finish(call *explorerCall, err error, header, trailer metadata.MD) {
	call.mu.Lock()
	call.ended = true
	call.mu.Unlock()
	x.res.end(err, header, trailer)
	if details, ok := call.schema.StatusDetails(trailer); ok {
		x.root.find(`[data-role="details"]`).setText("grpc-status-details-bin:\n" + details)
	}
	call.stop()
	x.idle()
	x.addHistory(call, status.Code(ignoreEOF(err)).String())
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
	m, call := x.current, x.call
	x.mu.Unlock()
	if m == nil {
		return
	}
	md, d, err := x.options()
	if err != nil {
		return
	}
	requests := []string{x.request.value()}
	if m.Kind.ClientStreams() && call != nil && call.method == m {
		requests = call.sentSoFar()
	}
	loc := js.Global().Get("location")
	target, tls := explorer.GrpcurlTarget(loc.Get("protocol").String(), loc.Get("host").String())
	cmd := explorer.GrpcurlCommand(target, tls, m.Path, requests, md, d)
	x.grpcurl.setText(cmd)
	if clip := js.Global().Get("navigator").Get("clipboard"); clip.Truthy() {
		clip.Call("writeText", cmd).Call("catch", x.ignore) // refused: the command shows on the page anyway
	}
}

// short cuts a long message for the log.
func short(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "…"
}
