package static_test

// The page's calls share one WebSocket: the grpc-mux.v1 socket
// (proto/grpcwire/MUX.md) that the Go client opens when the page is
// served over plain HTTP/1.1, as Chromium fetches from an http:// server.

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/peer"

	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/grpchttp"
	"github.com/grpcplay/playground/server/servertest"
)

// webSocket is one WebSocket the page opened, as DevTools reports it.
type webSocket struct {
	url      string
	protocol string // the Sec-WebSocket-Protocol the server answered
}

// socketLog keeps every WebSocket the page opens.
type socketLog struct {
	mu      sync.Mutex
	order   []network.RequestID
	sockets map[network.RequestID]*webSocket
}

// watchWebSockets starts recording the WebSockets of the tab of ctx.
func watchWebSockets(ctx context.Context, t *testing.T) *socketLog {
	t.Helper()
	l := &socketLog{sockets: map[network.RequestID]*webSocket{}}
	err := chromedp.Listen(ctx, func(ev any) {
		l.mu.Lock()
		defer l.mu.Unlock()
		switch ev := ev.(type) {
		case *network.EventWebSocketCreated:
			if l.sockets[ev.RequestID] == nil {
				l.order = append(l.order, ev.RequestID)
				l.sockets[ev.RequestID] = &webSocket{}
			}
			l.sockets[ev.RequestID].url = ev.URL
		case *network.EventWebSocketHandshakeResponseReceived:
			if s := l.sockets[ev.RequestID]; s != nil && ev.Response != nil {
				for k, v := range ev.Response.Headers {
					if strings.EqualFold(k, "Sec-WebSocket-Protocol") {
						s.protocol = fmt.Sprint(v)
					}
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatalf("enable DevTools' network events: %v", err)
	}
	return l
}

// all returns the sockets opened so far, in order.
func (l *socketLog) all() []webSocket {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]webSocket, 0, len(l.order))
	for _, id := range l.order {
		out = append(out, *l.sockets[id])
	}
	return out
}

// muxCall is a call the server saw arrive.
type muxCall struct {
	method, protocol, peer string
}

// callLog is the server's view of the page's calls: every call with its
// protocol and its peer (a WebSocket over HTTP/1.1 is a TCP connection of
// its own, so the calls of one socket share the peer's address), and the
// calls in flight now.
type callLog struct {
	mu     sync.Mutex
	calls  []muxCall
	open   map[int]muxCall
	nextID int
}

// begin records a call that starts, and returns its id for end.
func (l *callLog) begin(ctx context.Context, method string) int {
	c := muxCall{method: method, protocol: grpchttp.Protocol(ctx)}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		c.peer = p.Addr.String()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, c)
	if l.open == nil {
		l.open = map[int]muxCall{}
	}
	l.nextID++
	l.open[l.nextID] = c
	return l.nextID
}

// end records that the call of id ended.
func (l *callLog) end(id int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.open, id)
}

// inFlight returns the calls in flight now.
func (l *callLog) inFlight() []muxCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []muxCall
	for _, c := range l.open {
		out = append(out, c)
	}
	return out
}

// all returns every call seen, in order.
func (l *callLog) all() []muxCall {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.calls)
}

// config is a server's configuration whose interceptors record every
// call in l.
func (l *callLog) config() server.Config {
	return server.Config{
		UnaryInterceptors: []grpc.UnaryServerInterceptor{func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
			defer l.end(l.begin(ctx, info.FullMethod))
			return h(ctx, req)
		}},
		StreamInterceptors: []grpc.StreamServerInterceptor{func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
			defer l.end(l.begin(ss.Context(), info.FullMethod))
			return h(srv, ss)
		}},
	}
}

// TestPageOneSocket uses the page as a person would, over plain HTTP/1.1:
// the explorer shown (its reflection), a card's bidi stream, a card's
// server stream, an explorer bidi stream, and ten GetUser calls while both
// bidi streams are open. Every WebSocket the page opens is recorded from
// DevTools' network events, and the server records each call's protocol
// and peer (a WebSocket over HTTP/1.1 is a TCP connection of its own).
//
// The page runs two Go programs, main.wasm (the cards) and explorer.wasm
// (loaded when the explorer is first shown), and each has its own client:
// the page holds one grpc-mux.v1 socket per program, two in all, whatever
// the number of calls. Every stream of a program goes over its socket (a
// unary call may go as gRPC-Web while the socket opens). One socket for
// the whole page needs the explorer to call through main.wasm's client.
func TestPageOneSocket(t *testing.T) {
	var calls callLog
	ts := servertest.Start(t, calls.config())
	ctx := browser(t)
	sockets := watchWebSockets(ctx, t)

	run(ctx, t, "open the explorer", chromedp.Navigate(ts.URL+"/#explorer"), waitFor(`body[data-ready="true"]`), schemaReady())
	if state := attr(ctx, t, ex(`[data-role="schema-status"]`), "data-state"); state != "ready" {
		t.Fatalf("the explorer's schema: %s", text(ctx, t, ex(`[data-role="schema-status"]`)))
	}

	run(ctx, t, "card GetUsersByIds: open, send 2", click("GetUsersByIds", "open"),
		waitFor(in("GetUsersByIds", `[data-action="send"]:not([disabled])`)),
		setField("GetUsersByIds", "id", "2"), click("GetUsersByIds", "send"),
		waitFor(in("GetUsersByIds", `[data-role="response"][data-user-id="2"]`)))

	run(ctx, t, "card GetUsersByType NORMAL", setField("GetUsersByType", "user_type", "NORMAL"), click("GetUsersByType", "call"))
	code := finalStatus(ctx, t, "GetUsersByType")
	ids := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-method="GetUsersByType"] [data-role="response"]')].map(e => e.dataset.userId)`)
	if code != "OK" || strings.Join(ids, ",") != "3,5,6" {
		t.Fatalf("GetUsersByType NORMAL: status %q, ids %v; want OK, 3,5,6", code, ids)
	}

	run(ctx, t, "explorer GetUsersByIds: open, send 3", exSet("method", "/UserManager/GetUsersByIds"), exClick("open"),
		waitFor(ex(`[data-action="send"]:not([disabled])`)), exSet("request", `{"id": 3}`), exClick("send"),
		waitJS(`[...document.querySelectorAll('[data-explorer] [data-role="responses"] > [data-role="response"]')].some(e => JSON.parse(e.dataset.json)?.user?.id === 3)`))

	// Both bidi streams are open: the server has them in flight at once.
	open := calls.inFlight()
	if n := countMethod(open, "/UserManager/GetUsersByIds"); n != 2 {
		t.Fatalf("calls in flight with both bidi streams open: %+v; want two GetUsersByIds", open)
	}

	// Ten GetUser calls, clicked one after another while both streams
	// stay open, each result checked (consecutive ids differ, so each
	// wait sees its own call's result).
	for i := range 10 {
		id := strconv.Itoa(i%6 + 1)
		run(ctx, t, "GetUser "+id, setField("GetUser", "id", id), click("GetUser", "call"),
			waitFor(in("GetUser", `[data-role="response"][data-user-id="`+id+`"]`)))
		if code := finalStatus(ctx, t, "GetUser"); code != "OK" {
			t.Fatalf("GetUser %s: status %q", id, code)
		}
	}
	if n := countMethod(calls.inFlight(), "/UserManager/GetUsersByIds"); n != 2 {
		t.Fatalf("after the ten GetUser calls, %d GetUsersByIds in flight; want both still open", n)
	}

	run(ctx, t, "card GetUsersByIds: send 5, close", setField("GetUsersByIds", "id", "5"), click("GetUsersByIds", "send"),
		waitFor(in("GetUsersByIds", `[data-role="response"][data-user-id="5"]`)), click("GetUsersByIds", "close-send"))
	if code := finalStatus(ctx, t, "GetUsersByIds"); code != "OK" {
		t.Fatalf("card GetUsersByIds: status %q", code)
	}
	n := historyLen(ctx, t)
	run(ctx, t, "explorer GetUsersByIds: close", exClick("close-send"),
		waitJS(fmt.Sprintf(`document.querySelectorAll('[data-explorer] [data-role="history"] li').length > %d`, n)))
	if code := exStatus(ctx, t); code != "OK" {
		t.Fatalf("explorer GetUsersByIds: status %q", code)
	}

	// Two sockets, one per Go program, both grpc-mux.v1.
	got := sockets.all()
	if len(got) != 2 {
		t.Fatalf("the page opened %d WebSockets: %+v; want two (one per Go program). The server's grpc-mux calls by socket (peer):\n%s", len(got), got, callsByPeer(calls.all()))
	}
	for _, w := range got {
		if want := strings.Replace(ts.URL, "http://", "ws://", 1) + grpcwire.MuxPath; w.url != want || w.protocol != grpcwire.MuxProtocol {
			t.Fatalf("a WebSocket of the page: %+v; want %s with subprotocol %s", w, want, grpcwire.MuxProtocol)
		}
	}
	// The server agrees: its grpc-mux calls came from two peers, the
	// explorer's (reflection and its GetUsersByIds) and the cards' (their
	// two streams and the GetUser calls that went over the mux).
	byPeer := map[string][]string{}
	byProtocol := map[string]int{}
	for _, c := range calls.all() {
		byProtocol[c.protocol]++
		if c.protocol == grpchttp.ProtocolMux {
			byPeer[c.peer] = append(byPeer[c.peer], c.method)
		}
	}
	t.Logf("calls by protocol: %v", byProtocol)
	if len(byPeer) != 2 {
		t.Fatalf("the server's grpc-mux calls came from %d peers; want two:\n%s", len(byPeer), callsByPeer(calls.all()))
	}
	for peer, methods := range byPeer {
		reflection := slices.ContainsFunc(methods, func(m string) bool { return strings.Contains(m, "ServerReflectionInfo") })
		cards := slices.Contains(methods, "/UserManager/GetUsersByType")
		if reflection == cards {
			t.Errorf("socket %s carried %v: want the explorer's calls or the cards', not both or neither", peer, methods)
		}
		if n := countIn(methods, "/UserManager/GetUsersByIds"); n != 1 {
			t.Errorf("socket %s carried %d GetUsersByIds streams; want one (its program's)", peer, n)
		}
	}
	// Every stream the page opened came over the mux (a unary call may
	// have gone as gRPC-Web while the socket opened).
	for _, c := range calls.all() {
		if c.method != "/UserManager/GetUser" && c.protocol != grpchttp.ProtocolMux {
			t.Errorf("%s came over %s, not the mux", c.method, c.protocol)
		}
	}
	if n := countMethod(calls.all(), "/UserManager/GetUser"); n != 10 {
		t.Errorf("the server saw %d GetUser calls; want the ten clicked", n)
	}
}

// countIn counts method in methods.
func countIn(methods []string, method string) int {
	n := 0
	for _, m := range methods {
		if m == method {
			n++
		}
	}
	return n
}

// countMethod counts the calls of method in cs.
func countMethod(cs []muxCall, method string) int {
	n := 0
	for _, c := range cs {
		if c.method == method {
			n++
		}
	}
	return n
}

// callsByPeer lists the grpc-mux calls of cs by peer, one line a peer.
func callsByPeer(cs []muxCall) string {
	by := map[string][]string{}
	var peers []string
	for _, c := range cs {
		if c.protocol != grpchttp.ProtocolMux {
			continue
		}
		if by[c.peer] == nil {
			peers = append(peers, c.peer)
		}
		by[c.peer] = append(by[c.peer], c.method)
	}
	var b strings.Builder
	for _, p := range peers {
		fmt.Fprintf(&b, "  %s: %s\n", p, strings.Join(by[p], " "))
	}
	return b.String()
}
