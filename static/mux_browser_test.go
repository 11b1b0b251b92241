package static_test

// The page's calls share one WebSocket: the grpc-mux.v1 socket
// (proto/grpcwire/MUX.md) that the Go client opens when the page is
// served over plain HTTP/1.1, as Chromium fetches from an http:// server.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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
	// during is the methods of the calls in flight when it began.
	during []string
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
	for _, o := range l.open {
		c.during = append(c.during, o.method)
	}
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
// call in l, with its metrics on.
func (l *callLog) config() server.Config {
	return server.Config{
		Metrics: true,
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

// scrapeGauge reads the value of the gauge name from the metrics at url.
func scrapeGauge(t *testing.T, url, name string) float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s in the metrics:\n%s", name, b)
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

// The streams TestPageOneSocket keeps open while the other calls are made.
var pageStreams = []string{"/UserManager/GetUsersByIds", "/UserManager/GetUsersByIds", "/UserManager/CountAlreadyUsers"}

// TestPageOneSocket uses the page as a person would, over plain HTTP/1.1:
// the explorer shown (its reflection), a card's bidi stream, a card's
// client stream, a card's server stream, an explorer bidi stream, the
// schema read again through reflection and ten GetUser calls while the
// three streams are open. Every WebSocket the page opens is recorded from
// DevTools' network events, the server records each call's protocol and
// peer (a WebSocket over HTTP/1.1 is a TCP connection of its own) and the
// calls in flight when it began, and its playground_mux_sockets_open gauge
// is read while the streams are open.
//
// The page runs two Go programs, main.wasm (the cards) and explorer.wasm
// (the explorer), each with its own client, and one grpc-mux.v1 socket
// for both (client.WithPageSocket): opened on the explorer, the page's
// explorer.wasm opens it and publishes it, and main.wasm, started once the
// schema is read, puts its calls on it.
func TestPageOneSocket(t *testing.T) {
	var calls callLog
	ts := servertest.Start(t, calls.config())
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ts.ServeMetrics(mln)
	metricsURL := "http://" + mln.Addr().String() + "/metrics"
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

	run(ctx, t, "card CountAlreadyUsers: open, send 1", click("CountAlreadyUsers", "open"),
		waitFor(in("CountAlreadyUsers", `[data-action="send"]:not([disabled])`)),
		setField("CountAlreadyUsers", "id", "1"), click("CountAlreadyUsers", "send"),
		waitFor(in("CountAlreadyUsers", `[data-role="sent"] li`)))

	run(ctx, t, "card GetUsersByType NORMAL", setField("GetUsersByType", "user_type", "NORMAL"), click("GetUsersByType", "call"))
	code := finalStatus(ctx, t, "GetUsersByType")
	ids := evalJS[[]string](ctx, t, `[...document.querySelectorAll('[data-method="GetUsersByType"] [data-role="response"]')].map(e => e.dataset.userId)`)
	if code != "OK" || strings.Join(ids, ",") != "3,5,6" {
		t.Fatalf("GetUsersByType NORMAL: status %q, ids %v; want OK, 3,5,6", code, ids)
	}

	run(ctx, t, "explorer GetUsersByIds: open, send 3", exSet("method", "/UserManager/GetUsersByIds"), exClick("open"),
		waitFor(ex(`[data-action="send"]:not([disabled])`)), exSet("request", `{"id": 3}`), exClick("send"),
		waitJS(`[...document.querySelectorAll('[data-explorer] [data-role="responses"] > [data-role="response"]')].some(e => JSON.parse(e.dataset.json)?.user?.id === 3)`))

	// The three streams are open: the server has them in flight at once.
	if open := calls.inFlight(); !sameMethods(methodsOf(open), pageStreams) {
		t.Fatalf("calls in flight with the streams open: %+v; want %v", open, pageStreams)
	}

	// The explorer reads the schema again, through reflection.
	reflections := countReflection(calls.all())
	run(ctx, t, "reload the schema", exClick("reload-schema"), schemaReady())
	if state := attr(ctx, t, ex(`[data-role="schema-status"]`), "data-state"); state != "ready" || countReflection(calls.all()) == reflections {
		t.Fatalf("reload schema: %s, %d reflection calls before, %d after", text(ctx, t, ex(`[data-role="schema-status"]`)), reflections, countReflection(calls.all()))
	}

	// Ten GetUser calls, clicked one after another while the streams stay
	// open, each result checked (consecutive ids differ, so each wait sees
	// its own call's result).
	for i := range 10 {
		id := strconv.Itoa(i%6 + 1)
		run(ctx, t, "GetUser "+id, setField("GetUser", "id", id), click("GetUser", "call"),
			waitFor(in("GetUser", `[data-role="response"][data-user-id="`+id+`"]`)))
		if code := finalStatus(ctx, t, "GetUser"); code != "OK" {
			t.Fatalf("GetUser %s: status %q", id, code)
		}
	}
	if open := calls.inFlight(); !sameMethods(methodsOf(open), pageStreams) {
		t.Fatalf("after the ten GetUser calls, in flight: %+v; want %v still open", open, pageStreams)
	}
	// The server's own count of grpc-mux.v1 sockets, with every stream open.
	if n := scrapeGauge(t, metricsURL, "playground_mux_sockets_open"); n != 1 {
		t.Errorf("playground_mux_sockets_open = %v with the page's streams open; want 1", n)
	}

	run(ctx, t, "card GetUsersByIds: send 5, close", setField("GetUsersByIds", "id", "5"), click("GetUsersByIds", "send"),
		waitFor(in("GetUsersByIds", `[data-role="response"][data-user-id="5"]`)), click("GetUsersByIds", "close-send"))
	if code := finalStatus(ctx, t, "GetUsersByIds"); code != "OK" {
		t.Fatalf("card GetUsersByIds: status %q", code)
	}
	run(ctx, t, "card CountAlreadyUsers: finish", click("CountAlreadyUsers", "close-send"))
	if code := finalStatus(ctx, t, "CountAlreadyUsers"); code != "OK" {
		t.Fatalf("card CountAlreadyUsers: status %q", code)
	}
	n := historyLen(ctx, t)
	run(ctx, t, "explorer GetUsersByIds: close", exClick("close-send"),
		waitJS(fmt.Sprintf(`document.querySelectorAll('[data-explorer] [data-role="history"] li').length > %d`, n)))
	if code := exStatus(ctx, t); code != "OK" {
		t.Fatalf("explorer GetUsersByIds: status %q", code)
	}

	// One socket for the page, grpc-mux.v1.
	got := sockets.all()
	if len(got) != 1 {
		t.Fatalf("the page opened %d WebSockets: %+v; want one for both Go programs. The server's grpc-mux calls by socket (peer):\n%s", len(got), got, callsByPeer(calls.all()))
	}
	if want := strings.Replace(ts.URL, "http://", "ws://", 1) + grpcwire.MuxPath; got[0].url != want || got[0].protocol != grpcwire.MuxProtocol {
		t.Fatalf("the page's WebSocket: %+v; want %s with subprotocol %s", got[0], want, grpcwire.MuxProtocol)
	}
	// The server agrees: its grpc-mux calls came from one peer, the
	// explorer's (reflection, its GetUsersByIds) and the cards' (their
	// streams and GetUser calls) alike.
	byPeer := map[string][]string{}
	byProtocol := map[string]int{}
	for _, c := range calls.all() {
		byProtocol[c.protocol]++
		if c.protocol == grpchttp.ProtocolMux {
			byPeer[c.peer] = append(byPeer[c.peer], c.method)
		}
	}
	t.Logf("calls by protocol: %v", byProtocol)
	if len(byPeer) != 1 {
		t.Fatalf("the server's grpc-mux calls came from %d peers; want one:\n%s", len(byPeer), callsByPeer(calls.all()))
	}
	for _, methods := range byPeer {
		if countReflectionIn(methods) < 2 || countIn(methods, "/UserManager/GetUsersByIds") != 2 ||
			countIn(methods, "/UserManager/GetUsersByType") != 1 || countIn(methods, "/UserManager/CountAlreadyUsers") != 1 {
			t.Errorf("the socket carried %v: want reflection twice, both GetUsersByIds, the GetUsersByType and the CountAlreadyUsers", methods)
		}
	}
	// Every call the page made came over the mux (a unary call may go as
	// gRPC-Web while a program's socket opens: the banner's first health
	// check, say), and the second reflection and the ten GetUser calls
	// began while the three streams were in flight.
	getUsers, reflection := 0, 0
	for _, c := range calls.all() {
		if c.method != "/UserManager/GetUser" && !strings.HasPrefix(c.method, "/grpc.health.v1.Health/") && c.protocol != grpchttp.ProtocolMux {
			t.Errorf("%s came over %s, not the mux", c.method, c.protocol)
		}
		if c.method == "/UserManager/GetUser" {
			getUsers++
			if c.protocol != grpchttp.ProtocolMux {
				t.Errorf("GetUser %d came over %s, not the mux", getUsers, c.protocol)
			}
		}
		reloaded := false // the schema read again, with the streams open
		if isReflection(c.method) {
			reloaded = reflection >= reflections
			reflection++
		}
		if (c.method == "/UserManager/GetUser" || reloaded) && !containsAll(c.during, pageStreams) {
			t.Errorf("%s began with %v in flight; want %v", c.method, c.during, pageStreams)
		}
	}
	if getUsers != 10 {
		t.Errorf("the server saw %d GetUser calls; want the ten clicked", getUsers)
	}
}

// TestPageOneSocketCardsFirst opens the page on the cards: main.wasm opens
// the page's socket and publishes it, and the explorer, shown while a
// card's bidi stream is open, reads the schema and streams on it.
func TestPageOneSocketCardsFirst(t *testing.T) {
	var calls callLog
	ts := servertest.Start(t, calls.config())
	ctx := browser(t)
	sockets := watchWebSockets(ctx, t)

	run(ctx, t, "load the page", chromedp.Navigate(ts.URL+"/"), waitFor(`body[data-ready="true"]`),
		click("GetUsersByIds", "open"), waitFor(in("GetUsersByIds", `[data-action="send"]:not([disabled])`)),
		setField("GetUsersByIds", "id", "2"), click("GetUsersByIds", "send"),
		waitFor(in("GetUsersByIds", `[data-role="response"][data-user-id="2"]`)))
	run(ctx, t, "show the explorer", chromedp.Click(`[data-role="explorer-toggle"]`), schemaReady())
	if state := attr(ctx, t, ex(`[data-role="schema-status"]`), "data-state"); state != "ready" {
		t.Fatalf("the explorer's schema: %s", text(ctx, t, ex(`[data-role="schema-status"]`)))
	}
	run(ctx, t, "explorer GetUsersByIds: open, send 3", exSet("method", "/UserManager/GetUsersByIds"), exClick("open"),
		waitFor(ex(`[data-action="send"]:not([disabled])`)), exSet("request", `{"id": 3}`), exClick("send"),
		waitJS(`[...document.querySelectorAll('[data-explorer] [data-role="responses"] > [data-role="response"]')].some(e => JSON.parse(e.dataset.json)?.user?.id === 3)`))
	if open := calls.inFlight(); countMethod(open, "/UserManager/GetUsersByIds") != 2 {
		t.Fatalf("in flight: %+v; want both GetUsersByIds", open)
	}
	if got := sockets.all(); len(got) != 1 {
		t.Fatalf("the page opened %d WebSockets: %+v; want one. By peer:\n%s", len(got), got, callsByPeer(calls.all()))
	}
	peers := map[string]bool{}
	for _, c := range calls.all() {
		if c.protocol != grpchttp.ProtocolMux {
			t.Errorf("%s came over %s, not the mux", c.method, c.protocol)
		}
		peers[c.peer] = true
	}
	if len(peers) != 1 {
		t.Errorf("the calls came from %d peers; want one socket's:\n%s", len(peers), callsByPeer(calls.all()))
	}

	// The explorer's Cancel ends its stream on the server; the card's
	// stream goes on.
	run(ctx, t, "explorer: cancel", exClick("cancel"))
	if code := exStatus(ctx, t); code != "Canceled" {
		t.Errorf("the explorer's cancelled stream: %q", code)
	}
	giveUp := time.After(time.Minute) // a bound on a hang, not on speed
	for countMethod(calls.inFlight(), "/UserManager/GetUsersByIds") != 1 {
		select {
		case <-giveUp:
			t.Fatalf("the explorer's cancelled stream never ended on the server: in flight %+v", calls.inFlight())
		case <-time.After(10 * time.Millisecond):
		}
	}
	run(ctx, t, "card GetUsersByIds: send 5", setField("GetUsersByIds", "id", "5"), click("GetUsersByIds", "send"),
		waitFor(in("GetUsersByIds", `[data-role="response"][data-user-id="5"]`)))
}

// connLog is a listener that keeps the connections it accepted, by the
// peer's address, for a test to cut one.
type connLog struct {
	net.Listener
	mu    sync.Mutex
	conns map[string]net.Conn
}

func (l *connLog) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns[c.RemoteAddr().String()] = c
		l.mu.Unlock()
	}
	return c, err
}

// cut closes the connection from peer, as a network that drops it.
func (l *connLog) cut(t *testing.T, peer string) {
	t.Helper()
	l.mu.Lock()
	c := l.conns[peer]
	l.mu.Unlock()
	if c == nil {
		t.Fatalf("no connection from %s", peer)
	}
	c.Close()
}

// TestPageSocketDrops cuts the page's one socket while both programs have
// a stream on it: both streams end with Unavailable and a message saying
// so, and the next calls of both programs open one new socket.
func TestPageSocketDrops(t *testing.T) {
	var calls callLog
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := &connLog{Listener: ln, conns: map[string]net.Conn{}}
	ts := servertest.Start(t, calls.config(), servertest.WithListener(conns))
	ctx := browser(t)
	sockets := watchWebSockets(ctx, t)

	run(ctx, t, "load the page, open a card stream", chromedp.Navigate(ts.URL+"/"), waitFor(`body[data-ready="true"]`),
		click("GetUsersByIds", "open"), waitFor(in("GetUsersByIds", `[data-action="send"]:not([disabled])`)),
		setField("GetUsersByIds", "id", "2"), click("GetUsersByIds", "send"),
		waitFor(in("GetUsersByIds", `[data-role="response"][data-user-id="2"]`)))
	run(ctx, t, "show the explorer", chromedp.Click(`[data-role="explorer-toggle"]`), schemaReady())
	run(ctx, t, "explorer GetUsersByIds: open, send 3", exSet("method", "/UserManager/GetUsersByIds"), exClick("open"),
		waitFor(ex(`[data-action="send"]:not([disabled])`)), exSet("request", `{"id": 3}`), exClick("send"),
		waitJS(`[...document.querySelectorAll('[data-explorer] [data-role="responses"] > [data-role="response"]')].some(e => JSON.parse(e.dataset.json)?.user?.id === 3)`))
	open := calls.inFlight()
	if countMethod(open, "/UserManager/GetUsersByIds") != 2 || open[0].peer != open[1].peer {
		t.Fatalf("in flight: %+v; want both GetUsersByIds on one socket", open)
	}

	conns.cut(t, open[0].peer)
	if code := finalStatus(ctx, t, "GetUsersByIds"); code != "Unavailable" {
		t.Errorf("the card's stream, its socket cut: %q; want Unavailable", code)
	}
	msg := text(ctx, t, in("GetUsersByIds", `[data-role="message"]`))
	t.Logf("the card's stream: %s", msg)
	if !strings.Contains(msg, "grpc-mux") {
		t.Errorf("the card's stream ended with %q, which does not say the socket failed", msg)
	}
	if code := exStatus(ctx, t); code != "Unavailable" {
		t.Errorf("the explorer's stream, its socket cut: %q; want Unavailable", code)
	}
	msg = text(ctx, t, ex(`[data-role="message"]`))
	t.Logf("the explorer's stream: %s", msg)
	if !strings.Contains(msg, "grpc-mux") {
		t.Errorf("the explorer's stream ended with %q, which does not say the socket failed", msg)
	}

	// The next calls of both programs dial again, one socket for both (a
	// unary call may go as gRPC-Web while it opens; a stream waits for it).
	before := len(calls.all())
	run(ctx, t, "GetUser 4", setField("GetUser", "id", "4"), click("GetUser", "call"),
		waitFor(in("GetUser", `[data-role="response"][data-user-id="4"]`)))
	run(ctx, t, "card GetUsersByIds again", click("GetUsersByIds", "open"), waitFor(in("GetUsersByIds", `[data-action="send"]:not([disabled])`)),
		setField("GetUsersByIds", "id", "5"), click("GetUsersByIds", "send"),
		waitFor(in("GetUsersByIds", `[data-role="response"][data-user-id="5"]`)), click("GetUsersByIds", "close-send"))
	if code := finalStatus(ctx, t, "GetUsersByIds"); code != "OK" {
		t.Errorf("the card's stream after the cut: %q", code)
	}
	n := historyLen(ctx, t)
	run(ctx, t, "explorer GetUsersByIds again", exClick("open"), waitFor(ex(`[data-action="send"]:not([disabled])`)),
		exSet("request", `{"id": 6}`), exClick("send"),
		waitJS(`[...document.querySelectorAll('[data-explorer] [data-role="responses"] > [data-role="response"]')].some(e => JSON.parse(e.dataset.json)?.user?.id === 6)`),
		exClick("close-send"), waitJS(fmt.Sprintf(`document.querySelectorAll('[data-explorer] [data-role="history"] li').length > %d`, n)))
	if code := exStatus(ctx, t); code != "OK" {
		t.Errorf("the explorer's stream after the cut: %q", code)
	}
	if got := sockets.all(); len(got) != 2 {
		t.Errorf("the page opened %d WebSockets in all: %+v; want the first and one after the cut", len(got), got)
	}
	peers := map[string]bool{}
	streams := 0
	for _, c := range calls.all()[before:] {
		if c.protocol == grpchttp.ProtocolMux {
			peers[c.peer] = true
		}
		if c.method == "/UserManager/GetUsersByIds" && c.protocol == grpchttp.ProtocolMux {
			streams++
		}
	}
	if len(peers) != 1 || peers[open[0].peer] || streams != 2 {
		t.Errorf("after the cut, %d GetUsersByIds over the mux from peers %v; want both programs' on one new socket:\n%s", streams, peers, callsByPeer(calls.all()))
	}
}

// isReflection reports whether method is a server reflection call.
func isReflection(method string) bool { return strings.HasSuffix(method, "/ServerReflectionInfo") }

// countReflection counts the reflection calls of cs.
func countReflection(cs []muxCall) int { return countReflectionIn(methodsOf(cs)) }

// countReflectionIn counts the reflection calls in methods.
func countReflectionIn(methods []string) int {
	n := 0
	for _, m := range methods {
		if isReflection(m) {
			n++
		}
	}
	return n
}

// methodsOf returns the methods of cs.
func methodsOf(cs []muxCall) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.method
	}
	return out
}

// sameMethods reports whether a and b hold the same methods as often.
func sameMethods(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// containsAll reports whether have holds every method of want, as often.
func containsAll(have, want []string) bool {
	for _, m := range want {
		if countIn(have, m) < countIn(want, m) {
			return false
		}
	}
	return true
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
