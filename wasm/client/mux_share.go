package client

import (
	"context"
	"sync"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// One socket for the page: Go programs of one page (the playground's
// main.wasm and explorer.wasm) put their calls on one multiplexed socket
// (WithPageSocket). The first Conn to need the socket publishes it on a
// muxBoard as it opens it (in the browser, a property of globalThis:
// mux_share_js.go). A
// Conn of another program that finds it published opens a link to it
// instead of a WebSocket: a channel of whole frames that its muxConn runs
// over as it would over a socket, with its own streams, windows, keepalive
// and encoding. The owner serves the link (muxLink): it gives each stream
// the link opens an id of the socket (muxGuestStream) and forwards the
// stream's frames both ways, rewriting only the id; it answers the link's
// pings itself, tells it of the server's GOAWAY, and when the socket ends
// it cancels the link's streams with the socket's status and closes the
// link, so the guest's next call joins again (and the owner dials again).
// Flow control stays end to end between each stream's program and the
// server, so a stalled stream of one program holds up no other stream.

// PageSocketProperty is the property of globalThis where the program that
// owns the page's multiplexed socket publishes it (WithPageSocket): an
// object {protocol: "grpc-mux.v1", url, connect(port)}. connect takes one
// end of a MessageChannel, and the socket's frames for the caller's
// streams travel over it as ArrayBuffers (transferred, not copied), the
// string "close" ending the link.
const PageSocketProperty = "grpcMuxPageSocket"

// muxBoard is where the programs of a page find the page's socket.
type muxBoard interface {
	// join returns a link to the socket another program published for
	// p's URL. When none is published, it is p's own, or its owner is
	// gone, it publishes p's (which p opens next) and returns nil; the
	// two as one step, so that of programs that start together one opens
	// the socket.
	join(p *muxPool) wsConn
	// publish offers p's socket to the page's other programs in place of
	// the one published, unless p's is the one: serveLink serves each
	// link they open.
	publish(p *muxPool)
}

// muxLink is the owner's side of a link: another program's calls on the
// socket mc.
type muxLink struct {
	mc *muxConn
	ws wsConn
	w  *grpcwire.BatchWriter // frames to the guest

	mu      sync.Mutex
	streams map[uint32]*muxGuestStream // by the guest's id
	last    uint32                     // the highest id the guest opened
	ended   bool
}

// muxGuestStream is a stream of a linked program on the socket: id on the
// socket, gid on the link.
type muxGuestStream struct {
	l   *muxLink
	gid uint32
	id  uint32 // set by openGuest under mc.mu; 0 until then
}

// serveLink serves a link another program opened to p's socket, until
// either side ends it. The link gets the server's SETTINGS once the socket
// is open and the guest's SETTINGS are the owner's (the server sends the
// guest's streams what the owner announced); a link closed before them
// tells the guest to open its own socket.
func (p *muxPool) serveLink(ws wsConn) {
	ctx, cancel := context.WithTimeout(context.Background(), muxDialTimeout)
	mc, err := p.get(ctx)
	cancel()
	if err != nil {
		ws.close()
		return
	}
	// The guest's SETTINGS come first: a program whose differ (another
	// build of the client) is refused before the server's, and opens a
	// socket of its own.
	r := grpcwire.NewMuxServerReader(&wsReader{c: ws}, mc.peer)
	if f, err := r.Next(); err != nil || f.Settings() != muxOwnSettings {
		ws.close()
		return
	}
	l := &muxLink{mc: mc, ws: ws, streams: make(map[uint32]*muxGuestStream)}
	l.w = grpcwire.NewBatchWriter(func(b []byte) error { return grpcwire.WriteMuxMessages(b, ws.send) }, muxQueueLimit, nil)
	mc.mu.Lock()
	if mc.err != nil || mc.draining {
		mc.mu.Unlock()
		l.w.Stop()
		ws.close()
		return
	}
	mc.links[l] = struct{}{}
	mc.mu.Unlock()
	go func() {
		if err := l.w.Wait(); err != nil {
			l.end(nil)
		}
	}()
	l.queue(func(b []byte) []byte { return grpcwire.AppendMuxSettings(b, mc.peer) })
	for {
		f, err := r.Next()
		if err != nil {
			if st, ok := grpcstatus.FromError(err); ok {
				l.end(st)
			} else {
				l.end(nil)
			}
			return
		}
		if st := l.handle(f); st != nil {
			l.end(st)
			return
		}
	}
}

// queue adds frames for the guest without waiting; what waits is bounded
// by the windows of its streams, as on a socket.
func (l *muxLink) queue(fill func([]byte) []byte) {
	l.w.AddNow(func(b []byte) ([]byte, error) { return fill(b), nil })
}

// handle acts on a frame from the guest. It returns a connection error,
// for the guest.
func (l *muxLink) handle(f grpcwire.MuxFrame) *grpcstatus.Status {
	mc := l.mc
	switch f.Type {
	case grpcwire.MuxTypePing:
		if !f.Ack() {
			data := f.PingData()
			l.queue(func(b []byte) []byte { return grpcwire.AppendMuxPing(b, true, data) })
		}
		return nil
	case grpcwire.MuxTypeGoAway:
		// The guest leaves (it found a frame of the server's wrong, say):
		// its streams are cancelled on the server.
		l.end(nil)
		return nil
	case grpcwire.MuxTypeHeaders:
		return l.open(f)
	}
	l.mu.Lock()
	gs := l.streams[f.Stream]
	opened := f.Stream <= l.last
	l.mu.Unlock()
	if gs == nil {
		if !opened {
			return grpcstatus.Newf(codes.InvalidArgument, "grpc-mux: %v frame for stream %d, which the program never opened", f.Type, f.Stream)
		}
		return nil // a stream that ended while this frame was on its way
	}
	mc.mu.Lock()
	id := gs.id
	mc.mu.Unlock()
	if id == 0 {
		return nil // refused: its CANCEL is on its way
	}
	switch f.Type {
	case grpcwire.MuxTypeData:
		// The socket's writer may make DATA wait, as it does the owner's
		// own: the guest's later frames wait with it.
		mc.w.Add(func(b []byte) ([]byte, error) {
			return grpcwire.AppendMuxFrame(b, grpcwire.MuxTypeData, f.Flags, id, f.Payload), nil
		})
	case grpcwire.MuxTypeWindowUpdate:
		mc.queue(func(b []byte) []byte { return grpcwire.AppendMuxFrame(b, f.Type, 0, id, f.Payload) })
	case grpcwire.MuxTypeCancel:
		if mc.detach(id, gs) {
			mc.queue(func(b []byte) []byte { return grpcwire.AppendMuxFrame(b, f.Type, 0, id, f.Payload) })
		}
		l.remove(gs)
	}
	return nil
}

// open puts a stream the guest opened on the socket, or refuses it with a
// CANCEL when the socket takes no new streams or has all it may.
func (l *muxLink) open(f grpcwire.MuxFrame) *grpcstatus.Status {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return nil
	}
	if f.Stream <= l.last {
		l.mu.Unlock()
		return grpcstatus.Newf(codes.InvalidArgument, "grpc-mux: HEADERS for stream %d, after stream %d", f.Stream, l.last)
	}
	l.last = f.Stream
	gs := &muxGuestStream{l: l, gid: f.Stream}
	l.streams[gs.gid] = gs
	l.mu.Unlock()
	if err := l.mc.openGuest(gs, f); err != nil {
		l.remove(gs)
		st := grpcstatus.Convert(err)
		l.queue(func(b []byte) []byte { return grpcwire.AppendMuxCancel(b, gs.gid, st) })
	}
	return nil
}

// openGuest gives gs an id on mc and sends its HEADERS (f, from the
// guest). It fails, without waiting, when mc takes no new streams or has
// the server's MaxStreams open.
func (mc *muxConn) openGuest(gs *muxGuestStream, f grpcwire.MuxFrame) error {
	mc.mu.Lock()
	defer mc.mu.Unlock()
	switch {
	case mc.err != nil || mc.draining:
		return unavailable("the page's socket takes no new streams: it is closing")
	case uint32(len(mc.streams)) >= mc.peer.MaxStreams:
		return grpcstatus.Errorf(codes.ResourceExhausted, "grpc-mux: the page's socket has the %d streams open the server allows", mc.peer.MaxStreams)
	case mc.nextID > grpcwire.MuxMaxStreamID:
		return unavailable("the page's socket has used all its stream ids")
	}
	id := mc.nextID
	if err := mc.queue(func(b []byte) []byte {
		return grpcwire.AppendMuxFrame(b, grpcwire.MuxTypeHeaders, f.Flags, id, f.Payload)
	}); err != nil {
		return unavailable("the page's socket is closing")
	}
	gs.id = id
	mc.nextID += 2
	mc.streams[id] = gs
	mc.idleSince = time.Time{}
	return nil
}

// handle implements muxEndpoint: the server's frame goes to the guest
// under its id.
func (gs *muxGuestStream) handle(f grpcwire.MuxFrame) *grpcstatus.Status {
	gs.l.queue(func(b []byte) []byte { return grpcwire.AppendMuxFrame(b, f.Type, f.Flags, gs.gid, f.Payload) })
	if f.Type == grpcwire.MuxTypeTrailers || f.Type == grpcwire.MuxTypeCancel {
		gs.l.mc.detach(gs.id, gs)
		gs.l.remove(gs)
	}
	return nil
}

// linkStatus is err, why the socket or a stream ended, as the status a
// linked program's stream ends with: an Unavailable one unless err says
// otherwise.
func linkStatus(err error) *grpcstatus.Status {
	st := grpcstatus.Convert(err)
	if st.Code() == codes.OK || st.Code() == codes.Unknown {
		st = grpcstatus.New(codes.Unavailable, err.Error())
	}
	return st
}

// abort implements muxEndpoint: the guest's stream ends with err's status.
func (gs *muxGuestStream) abort(err error) {
	st := linkStatus(err)
	gs.l.queue(func(b []byte) []byte { return grpcwire.AppendMuxCancel(b, gs.gid, st) })
	gs.l.remove(gs)
}

// remove forgets gs.
func (l *muxLink) remove(gs *muxGuestStream) {
	l.mu.Lock()
	if l.streams[gs.gid] == gs {
		delete(l.streams, gs.gid)
	}
	l.mu.Unlock()
}

// goAway tells the guest the socket takes no new streams: its streams go
// on (those the server refused were aborted already).
func (l *muxLink) goAway(st *grpcstatus.Status) {
	l.mu.Lock()
	last := l.last
	l.mu.Unlock()
	l.queue(func(b []byte) []byte { return grpcwire.AppendMuxGoAway(b, last, st) })
}

// end ends the link, once: its streams still open are cancelled on the
// server, and the guest is told report (a connection error it made), if
// not nil, before the link closes.
func (l *muxLink) end(report *grpcstatus.Status) {
	l.mu.Lock()
	if l.ended {
		l.mu.Unlock()
		return
	}
	l.ended = true
	streams := l.streams
	l.streams = nil
	last := l.last
	l.mu.Unlock()
	mc := l.mc
	mc.mu.Lock()
	delete(mc.links, l)
	mc.mu.Unlock()
	gone := grpcstatus.New(codes.Canceled, "the program that made the call left the page's socket")
	for _, gs := range streams {
		mc.mu.Lock()
		id := gs.id
		mc.mu.Unlock()
		if mc.detach(id, gs) {
			mc.queue(func(b []byte) []byte { return grpcwire.AppendMuxCancel(b, id, gone) })
		}
	}
	if report != nil {
		l.queue(func(b []byte) []byte { return grpcwire.AppendMuxGoAway(b, last, report) })
	}
	l.w.Finish(nil)
	go func() {
		t := time.NewTimer(muxCloseGrace)
		select {
		case <-l.w.Done():
		case <-t.C:
		}
		t.Stop()
		l.ws.close()
	}()
}
