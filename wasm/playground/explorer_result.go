//go:build js && wasm && explorer

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

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/dynamicpb"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/wasm/explorer"
)

// The explorer's result area keeps a call's messages in one timeline, sent
// and received, with their times. Receiving costs next to nothing: a
// message's bytes are kept, counted and drawn at the next animation frame,
// and only the newest shownEntries of those that arrived since the last
// frame are decoded and laid out. So a stream of thousands of messages is
// counted as fast as it arrives, and the page stays responsive.
const (
	// shownEntries is how many timeline entries the page holds; older ones
	// leave the page (data-count still counts every message received).
	shownEntries = 100
	// perFrame is how many of the newest entries a frame adds while a call
	// runs, at most every sampleEvery: a fast stream is counted in full on
	// every frame but drawn in samples, and its end draws the newest
	// shownEntries in order.
	perFrame    = 4
	sampleEvery = 100 * time.Millisecond
	// keptRecords and keptBytes bound what the export holds: the newest
	// records of the call, whichever bound comes first.
	keptRecords = 10_000
	keptBytes   = 32 << 20
	// maxLogLines bounds a call's log; the oldest lines go first.
	maxLogLines = 500
)

// record is one message of the timeline.
type record struct {
	seq  int // its place in the call, from 1
	sent bool
	at   time.Duration // since the call began
	raw  []byte        // a received message's bytes
	json string        // a sent message's compact JSON
}

// resultView is the explorer's result area and the state of its call.
type resultView struct {
	frames                                                                                           *frames
	root                                                                                             elem
	status, duration, progress, message, details, overflow, timeline, log, headers, trailers, export elem
	traceID                                                                                          elem // the trace the call started, if any

	mu        sync.Mutex
	gen       int // the call's number: what an older call queues is dropped
	start     time.Time
	cancel    context.CancelFunc
	method    *explorer.Method
	schema    *explorer.Schema
	received  int
	seq       int       // messages in the timeline, sent and received
	records   []record  // the newest records, for drawing and export
	bytes     int       // the raw and JSON bytes records hold
	dropped   int       // records that left records
	drawnSeq  int       // the last seq drawn
	sampled   bool      // frames skipped records: the end draws the newest again
	sampledAt time.Time // when a frame last drew a sample
	onPage    int       // entries on the page
	newLog    []string
	queued    bool
	final     string // the final status line for the export, once ended
}

func newResultView(f *frames, root elem) *resultView {
	r := &resultView{frames: f, root: root}
	for _, v := range []struct {
		e    *elem
		role string
	}{
		{&r.status, "status"}, {&r.duration, "duration"}, {&r.progress, "progress"}, {&r.message, "message"},
		{&r.details, "details"}, {&r.overflow, "overflow"}, {&r.timeline, "responses"}, {&r.log, "log"},
		{&r.headers, "headers"}, {&r.trailers, "trailers"}, {&r.traceID, "trace-id"},
	} {
		*v.e = root.find(`.explorer-result [data-role="` + v.role + `"]`)
	}
	r.export = root.find(`[data-action="export"]`)
	return r
}

// clear empties the result area: a new call, or a refused one, starts
// from nothing.
func (r *resultView) clear() {
	r.mu.Lock()
	r.gen++
	r.received, r.seq, r.records, r.bytes, r.dropped, r.drawnSeq, r.onPage, r.sampled = 0, 0, nil, 0, 0, 0, 0, false
	r.newLog, r.final, r.method = r.newLog[:0], "", nil
	r.mu.Unlock()
	for _, e := range []elem{r.status, r.duration, r.progress, r.message, r.details, r.overflow, r.timeline, r.log, r.headers, r.trailers, r.traceID} {
		e.clear()
	}
	r.status.removeAttr("data-code")
	r.traceID.removeAttr("data-trace-id")
	r.timeline.setAttr("data-count", "0")
	r.export.setEnabled(false)
}

// begin clears the area for a call of m and returns the call's context.
func (r *resultView) begin(m *explorer.Method, s *explorer.Schema) context.Context {
	r.clear()
	ctx, cancel := context.WithCancel(context.Background())
	r.mu.Lock()
	r.start, r.cancel, r.method, r.schema = time.Now(), cancel, m, s
	r.mu.Unlock()
	r.logf("call started: " + m.Path)
	return ctx
}

// refuse shows, in place of the last call's result, that nothing was sent
// and why.
func (r *resultView) refuse(msg string) {
	r.clear()
	r.message.setText("not sent: " + msg)
}

// abort cancels the call in flight, if any.
func (r *resultView) abort() {
	r.mu.Lock()
	cancel := r.cancel
	r.mu.Unlock()
	if cancel != nil {
		r.logf("cancel requested")
		cancel()
	}
}

func (r *resultView) elapsed() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return time.Since(r.start)
}

// logf adds a line to the call's log, stamped with the time since it began.
func (r *resultView) logf(text string) {
	r.mu.Lock()
	line := "<li>+" + ms(time.Since(r.start)) + "  " + escapeHTML(text) + "</li>"
	if len(r.newLog) == maxLogLines {
		r.newLog = append(r.newLog[:0], r.newLog[1:]...)
	}
	r.newLog = append(r.newLog, line)
	r.queueLocked()
	r.mu.Unlock()
}

// addLocked keeps a record, dropping the oldest past the export's bounds.
func (r *resultView) addLocked(rec record) {
	r.seq++
	rec.seq = r.seq
	rec.at = time.Since(r.start)
	r.records = append(r.records, rec)
	r.bytes += len(rec.raw) + len(rec.json)
	if len(r.records) > keptRecords || r.bytes > keptBytes {
		n := max(len(r.records)/10, 1) // drop a tenth at once: amortized
		for _, old := range r.records[:n] {
			r.bytes -= len(old.raw) + len(old.json)
		}
		r.records = append(r.records[:0], r.records[n:]...)
		r.dropped += n
	}
	r.queueLocked()
}

// received keeps one response message's bytes for the next frame.
func (r *resultView) receivedMsg(raw []byte) {
	r.mu.Lock()
	r.received++
	r.addLocked(record{raw: raw})
	r.mu.Unlock()
}

// sentMsg puts a request message sent into the timeline.
func (r *resultView) sentMsg(compact string) {
	r.mu.Lock()
	r.addLocked(record{sent: true, json: compact})
	r.mu.Unlock()
	r.logf("→ " + short(compact))
}

func (r *resultView) queueLocked() {
	if !r.queued {
		r.queued = true
		r.frames.queue(r)
	}
}

// draw puts what arrived since the last frame on the page: while the call
// runs, at most its newest perFrame records (a fast stream is drawn in
// samples); once it ended, its newest shownEntries in order. It decodes
// only what it draws, takes the oldest entries off the page, and updates
// the count, the progress line and the log.
func (r *resultView) draw() {
	r.mu.Lock()
	r.queued = false
	ended := r.final != ""
	from, redraw := r.drawnSeq+1, false
	switch {
	case ended && r.sampled:
		from, redraw, r.sampled = r.seq-shownEntries+1, true, false
	case ended:
		from = max(from, r.seq-shownEntries+1)
	case r.seq-perFrame+1 > from:
		if time.Since(r.sampledAt) < sampleEvery {
			from = r.seq + 1 // count now, draw a sample later
		} else {
			from, r.sampledAt = r.seq-perFrame+1, time.Now()
		}
		r.sampled = true
	}
	var todo []record
	if len(r.records) > 0 {
		first := r.records[0].seq
		for s := max(from, first); s <= r.seq; s++ {
			todo = append(todo, r.records[s-first])
		}
	}
	if from <= r.seq {
		r.drawnSeq = r.seq
	}
	received, seq, m, s, start := r.received, r.seq, r.method, r.schema, r.start
	logHTML := strings.Join(r.newLog, "")
	r.newLog = r.newLog[:0]
	r.mu.Unlock()

	if len(todo) > 0 && m != nil {
		var b strings.Builder
		for _, rec := range todo {
			entryHTML(&b, rec, m, s)
		}
		if redraw || len(todo) >= shownEntries {
			r.timeline.clear()
			r.onPage = 0
		}
		r.timeline.appendHTML(b.String())
		r.onPage += len(todo)
		if r.onPage > shownEntries {
			r.timeline.trimFront(shownEntries)
			r.onPage = shownEntries
		}
		if seq > r.onPage {
			r.overflow.setText("showing the newest " + strconv.Itoa(r.onPage) + " of " + strconv.Itoa(seq) +
				" messages; Export keeps the newest " + strconv.Itoa(keptRecords))
		}
		r.timeline.scrollToEnd()
	}
	r.timeline.setAttr("data-count", strconv.Itoa(received))
	if m != nil && m.Desc.IsStreamingServer() {
		r.progress.setText(plural(received, "message") + " received · " + ms(time.Since(start)))
	}
	if logHTML != "" {
		r.log.appendHTML(logHTML)
		r.log.trimFront(maxLogLines)
		r.log.scrollToEnd()
	}
}

// entryHTML writes one timeline entry: a foldable message, pretty-printed,
// with its direction, number and time; a received one also with its data-json
// and its wire view.
func entryHTML(b *strings.Builder, rec record, m *explorer.Method, s *explorer.Schema) {
	at := ms(rec.at)
	if rec.sent {
		b.WriteString(`<details open class="entry out" data-role="request" data-json="` + escapeHTML(rec.json) + `"><summary><span class="dir">→ sent</span> <span class="n">#` +
			strconv.Itoa(rec.seq) + `</span> <span class="t">+` + at + `</span></summary><pre>` + escapeHTML(explorer.IndentJSON(rec.json)) + `</pre></details>`)
		return
	}
	msg := dynamicpb.NewMessage(m.Desc.Output())
	compact, pretty := "", ""
	err := explorer.UnmarshalResponse(rec.raw, msg)
	if err == nil {
		compact, err = s.FormatMessage(msg, false)
		pretty = explorer.IndentJSON(compact)
	}
	if err != nil {
		compact, pretty = "", "cannot show this message: "+err.Error()
	}
	w := explorer.WireFrom(rec.raw, msg)
	b.WriteString(`<details open class="entry in" data-role="response" data-json="` + escapeHTML(compact) + `"><summary><span class="dir">← received</span> <span class="n">#` +
		strconv.Itoa(rec.seq) + `</span> <span class="t">+` + at + `</span> <span class="size muted">` + strconv.Itoa(len(rec.raw)) + ` bytes</span></summary><pre>` +
		escapeHTML(pretty) + `</pre>`)
	b.WriteString(`<details class="wire" data-role="wire" data-bytes="` + strconv.Itoa(len(w.Frame)) + `"><summary>wire: frame of ` +
		strconv.Itoa(len(w.Frame)) + ` bytes (5-byte prefix, ` + strconv.Itoa(len(w.Frame)-5) + `-byte message)` +
		unknownCount(len(w.Unknown)) + `</summary><pre>` + explorer.Hex(w.Frame, maxHexBytes) + `</pre>`)
	if len(w.Unknown) > 0 {
		b.WriteString(`<ul data-role="unknown">`)
		for _, u := range w.Unknown {
			b.WriteString(`<li>` + escapeHTML(u) + `</li>`)
		}
		b.WriteString(`</ul>`)
	}
	b.WriteString(`</details></details>`)
}

// maxHexBytes bounds the bytes a wire view shows.
const maxHexBytes = 1024

func unknownCount(n int) string {
	if n == 0 {
		return ""
	}
	return ", " + plural(n, "unknown field")
}

// end shows how the call finished: everything received, then its status,
// duration, decoded status details, headers and trailers.
func (r *resultView) end(err error, header, trailer metadata.MD) codes.Code {
	if errors.Is(err, io.EOF) {
		err = nil
	}
	r.draw()
	st := grpcstatus.Convert(err)
	code := st.Code().String()
	r.mu.Lock()
	r.cancel = nil
	s := r.schema
	d := time.Since(r.start)
	r.final = `{"status":` + strconv.Quote(code) + `,"code":` + strconv.Itoa(int(st.Code())) + `,"message":` + strconv.Quote(st.Message()) +
		`,"duration_ms":` + strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64) + `}`
	r.mu.Unlock()
	r.status.setText(code)
	r.status.setAttr("data-code", code)
	r.duration.setText("in " + ms(d))
	if st.Code() != codes.OK {
		r.message.setText(code + ": " + st.Message())
	}
	if s != nil {
		if details, ok := s.StatusDetails(trailer); ok {
			r.details.setText("grpc-status-details-bin:\n" + details)
		}
	}
	r.headers.setText(formatMD("headers", header))
	r.trailers.setText(formatMD("trailers", trailer))
	r.logf("status " + code + messageSuffix(st.Message()))
	r.draw()
	r.export.setEnabled(true)
	return st.Code()
}

// exportText writes the call as JSON lines: a first line naming the method
// (and how many of the oldest messages the export lost), one line per
// message kept ({"t_ms", "sent" or "received"}), and the status.
func (r *resultView) exportText() (name, text string) {
	r.mu.Lock()
	recs := append([]record(nil), r.records...)
	m, s, dropped, final := r.method, r.schema, r.dropped, r.final
	r.mu.Unlock()
	if m == nil {
		return "", ""
	}
	var b strings.Builder
	b.WriteString(`{"method":` + strconv.Quote(m.Path) + `,"messages":` + strconv.Itoa(len(recs)+dropped) + `,"left_out":` + strconv.Itoa(dropped) + "}\n")
	for _, rec := range recs {
		t := strconv.FormatFloat(float64(rec.at.Microseconds())/1000, 'f', 1, 64)
		if rec.sent {
			b.WriteString(`{"t_ms":` + t + `,"sent":` + rec.json + "}\n")
			continue
		}
		msg := dynamicpb.NewMessage(m.Desc.Output())
		j := "null"
		if err := explorer.UnmarshalResponse(rec.raw, msg); err == nil {
			if c, err := s.FormatMessage(msg, false); err == nil {
				j = c
			}
		}
		b.WriteString(`{"t_ms":` + t + `,"received":` + j + "}\n")
	}
	if final != "" {
		b.WriteString(final + "\n")
	}
	name = strings.ReplaceAll(strings.TrimPrefix(m.Path, "/"), "/", ".") + ".jsonl"
	return name, b.String()
}

// download offers text to the person as a file.
func download(name, text string) {
	blob := js.Global().Get("Blob").New(js.Global().Get("Array").New(text), map[string]any{"type": "application/jsonl"})
	url := js.Global().Get("URL").Call("createObjectURL", blob)
	a := create("a", "", "")
	a.v.Set("href", url)
	a.v.Set("download", name)
	document().Get("body").Call("appendChild", a.v)
	a.v.Call("click")
	a.v.Call("remove")
	var revoke js.Func
	revoke = js.FuncOf(func(js.Value, []js.Value) any {
		js.Global().Get("URL").Call("revokeObjectURL", url)
		revoke.Release()
		return nil
	})
	js.Global().Call("setTimeout", revoke, 1000)
}
