//go:build js && wasm && !explorer

package main

import (
	"context"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	pb "github.com/grpcplay/playground/pb/browserpb"
	"github.com/grpcplay/playground/proto/grpcstatus"
)

// card is one method's section of the page (data-method="NAME") and the
// state of its current call.
//
// What a call receives is drawn once per animation frame, not per message:
// a stream of thousands of users then costs a few DOM calls per frame
// instead of a dozen per user, and the page stays responsive while it runs.
type card struct {
	page *page
	root elem
	// The automation hooks and views inside the card.
	status, duration, responses, message, log, headers, trailers, sent, progress, overflow elem
	// actions holds the card's buttons, by data-action, as found once.
	actions map[string]elem

	mu     sync.Mutex
	start  time.Time
	cancel context.CancelFunc
	n      int // responses received in the current call
	drawn  int // responses on the page (draw's own)
	hidden int // of those, the oldest ones hidden (draw's own)
	queued bool
	// Drawn at the next frame: response and log elements as HTML, and the
	// progress line.
	newResponses strings.Builder
	newLog       []string
	newProgress  string
	// The lists that grew since the last frame, scrolled to their newest
	// entry at the next one.
	grown []elem
}

// maxLogLines bounds a call's log; the oldest lines go first.
const maxLogLines = 500

// shownResponses is how many of the newest responses are displayed. The
// older ones stay in the page, hidden, as the automation hooks count every
// response; laying out tens of thousands of them would freeze the page.
const shownResponses = 300

func newCard(p *page, method string) *card {
	return newCardAt(p, elem{document().Call("querySelector", `[data-method="`+method+`"]`)})
}

// newCardAt returns the card whose hooks are under root.
func newCardAt(p *page, root elem) *card {
	c := &card{page: p, root: root}
	for _, v := range []struct {
		e    *elem
		role string
	}{
		{&c.status, "status"}, {&c.duration, "duration"}, {&c.responses, "responses"},
		{&c.message, "message"}, {&c.log, "log"}, {&c.headers, "headers"},
		{&c.trailers, "trailers"}, {&c.sent, "sent"}, {&c.progress, "progress"},
		{&c.overflow, "overflow"},
	} {
		*v.e = root.find(`[data-role="` + v.role + `"]`)
	}
	c.actions = make(map[string]elem, len(cardActions))
	for _, a := range cardActions {
		c.actions[a] = root.find(`[data-action="` + a + `"]`)
	}
	return c
}

// cardActions are the data-action names of a card's buttons.
var cardActions = []string{"call", "open", "send", "close-send", "cancel"}

// button returns the card's button for action, one of cardActions; its v
// is null when the card has none.
func (c *card) button(action string) elem { return c.actions[action] }

func (c *card) field(name string) elem { return c.root.find(`[name="` + name + `"]`) }

// buttons enables exactly the named actions of this card.
func (c *card) buttons(enabled ...string) {
	for _, a := range cardActions {
		if b := c.button(a); !b.v.IsNull() {
			b.setEnabled(slices.Contains(enabled, a))
		}
	}
}

// begin clears the card for a new call and returns its context.
func (c *card) begin() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	c.mu.Lock()
	c.start, c.cancel, c.n, c.drawn, c.hidden = time.Now(), cancel, 0, 0, 0
	c.newResponses.Reset()
	c.newLog, c.newProgress = c.newLog[:0], ""
	c.mu.Unlock()
	for _, e := range []elem{c.status, c.duration, c.responses, c.message, c.log, c.headers, c.trailers, c.sent, c.progress, c.overflow} {
		if !e.v.IsNull() {
			e.clear()
		}
	}
	c.status.removeAttr("data-code")
	c.logf("call started")
	return ctx
}

// abort cancels the call in flight, if any.
func (c *card) abort() {
	c.mu.Lock()
	cancel := c.cancel
	c.mu.Unlock()
	if cancel != nil {
		c.logf("cancel requested")
		cancel()
	}
}

func (c *card) elapsed() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Since(c.start)
}

// logf adds a line to the call's log, stamped with the time since it began.
func (c *card) logf(text string) {
	c.mu.Lock()
	line := "<li>+" + ms(time.Since(c.start)) + "  " + escapeHTML(text) + "</li>"
	if len(c.newLog) == maxLogLines {
		c.newLog = append(c.newLog[:0], c.newLog[1:]...)
	}
	c.newLog = append(c.newLog, line)
	c.queueLocked()
	c.mu.Unlock()
}

// received shows one response message, logs it, and returns how many the
// call has received.
func (c *card) received(r *pb.UserResponse) int {
	var attrs, text string
	switch {
	case r.GetError():
		attrs = ` data-error="true"`
		text = "error: " + r.GetMessage()
	case r.GetUser() != nil:
		attrs = ` data-user-id="` + strconv.FormatUint(uint64(r.GetUser().GetId()), 10) + `"`
		text = describe(r.GetUser())
	default:
		text = "(empty response)"
	}
	return c.addResponse(attrs, `<span>`+escapeHTML(text)+`</span>`, text)
}

// addResponse shows one response message: a [data-role="response"]
// element with attrs (written as HTML attributes, escaped), its relative
// time, then body (HTML). It logs logText and returns how many responses
// the call has received.
func (c *card) addResponse(attrs, body, logText string) int {
	c.mu.Lock()
	c.n++
	n := c.n
	b := &c.newResponses
	b.WriteString(`<div class="response" data-role="response"`)
	b.WriteString(attrs)
	b.WriteString(`><span class="t">+`)
	b.WriteString(ms(time.Since(c.start)))
	b.WriteString(`</span>`)
	b.WriteString(body)
	b.WriteString(`</div>`)
	c.queueLocked()
	c.mu.Unlock()
	c.logf("← " + logText)
	return n
}

// setProgress shows a progress line (GetUsersByType's running count).
func (c *card) setProgress(text string) {
	c.mu.Lock()
	c.newProgress = text
	c.queueLocked()
	c.mu.Unlock()
}

// queueLocked asks for a draw at the next frame. c.mu is held.
func (c *card) queueLocked() {
	if !c.queued {
		c.queued = true
		c.page.frames.queue(c)
	}
}

// draw puts what arrived since the last frame on the page (put), then
// scrolls the lists that grew to their newest entry, once all is written:
// reading a list's height lays the page out, so each read between two
// writes would lay it out again (the frame lays it out anyway).
func (c *card) draw() {
	grown := c.put()
	c.mu.Lock()
	grown = append(grown, c.grown...)
	c.grown = nil
	c.mu.Unlock()
	scrollToEnd(grown)
}

// put puts what arrived since the last frame on the page: new responses
// and log lines in one DOM call each, the responses past the newest
// shownResponses hidden, the log trimmed to maxLogLines. It returns the
// lists that grew, for the caller to scroll.
func (c *card) put() (grown []elem) {
	c.mu.Lock()
	c.queued = false
	responses := c.newResponses.String()
	c.newResponses.Reset()
	total := c.n
	logHTML := strings.Join(c.newLog, "")
	c.newLog = c.newLog[:0]
	progress := c.newProgress
	c.mu.Unlock()

	if responses != "" {
		c.responses.appendHTML(responses)
		c.drawn = total
		if c.drawn-c.hidden > shownResponses {
			children := c.responses.v.Get("children")
			for ; c.hidden < c.drawn-shownResponses; c.hidden++ {
				children.Index(c.hidden).Set("hidden", true)
			}
			c.overflow.setText("showing the newest " + strconv.Itoa(shownResponses) + " of " + strconv.Itoa(c.drawn) + " responses")
		}
		grown = append(grown, c.responses)
	}
	if logHTML != "" {
		c.log.appendHTML(logHTML)
		c.log.trimFront(maxLogLines)
		grown = append(grown, c.log)
	}
	if progress != "" {
		c.progress.setText(progress)
	}
	return grown
}

// sentID shows a request sent on a client or bidi stream.
func (c *card) sentID(id uint32) {
	s := strconv.FormatUint(uint64(id), 10)
	c.sent.append(create("li", "", "id "+s))
	c.sent.scrollToEnd()
	c.logf("→ UserRequest{id: " + s + "}")
}

// end shows how the call finished: its status, duration, headers and
// trailers. A nil or io.EOF err is status OK.
func (c *card) end(err error, header, trailer metadata.MD) {
	if errors.Is(err, io.EOF) {
		err = nil
	}
	grown := c.put() // everything received shows before the status does
	st := grpcstatus.Convert(err)
	code := st.Code().String()
	c.status.setText(code)
	c.status.setAttr("data-code", code)
	c.duration.setText("in " + ms(c.elapsed()))
	if st.Code() != codes.OK {
		c.message.setText(code + ": " + st.Message())
	}
	c.headers.setText(formatMD("headers", header))
	c.trailers.setText(formatMD("trailers", trailer))
	// The status's log line, and the scrolling of the lists that grew, at
	// the next frame: the page is laid out once, not once per list here
	// and once more for the frame.
	c.mu.Lock()
	c.grown = append(c.grown, grown...)
	c.mu.Unlock()
	c.logf("status " + code + messageSuffix(st.Message()))
	c.page.observe(st.Code())
	c.mu.Lock()
	c.cancel = nil
	c.mu.Unlock()
}

// fail shows input the page cannot send, without calling the server.
func (c *card) fail(msg string) {
	c.message.setText(msg)
}

// refuse shows a call the page cannot make, without calling the server,
// in place of the last call's result.
func (c *card) refuse(msg string) {
	for _, e := range []elem{c.status, c.duration, c.responses, c.log, c.headers, c.trailers, c.progress, c.overflow} {
		if !e.v.IsNull() {
			e.clear()
		}
	}
	c.status.removeAttr("data-code")
	c.message.setText(msg)
}

func describe(u *pb.User) string {
	return "#" + strconv.FormatUint(uint64(u.GetId()), 10) + " " + u.GetNickname() + " · " + u.GetMailAddress() + " · " + u.GetUserType().String()
}

// parseID reads an id field: a whole number that fits uint32. Zero is
// passed on, so the server's own InvalidArgument shows.
func parseID(s string) (uint32, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, errors.New("id must be a whole number from 0 to 4294967295")
	}
	return uint32(v), nil
}
