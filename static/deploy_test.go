package static_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/interop"
	testgrpc "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/reflection"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server"
	"github.com/grpcplay/playground/server/front"
	"github.com/grpcplay/playground/server/servertest"
	"github.com/grpcplay/playground/server/usermanager"
)

// fiveCards calls each UserManager card once, through the page's hooks, and
// checks what it shows.
func fiveCards(ctx context.Context, t *testing.T) {
	t.Helper()
	run(ctx, t, "GetUser 2", setField("GetUser", "id", "2"), click("GetUser", "call"),
		waitFor(in("GetUser", `[data-role="response"][data-user-id="2"]`)))
	if code := finalStatus(ctx, t, "GetUser"); code != "OK" {
		t.Fatalf("GetUser: %s", code)
	}
	run(ctx, t, "AddUser 4242", setField("AddUser", "id", "4242"), setField("AddUser", "nickname", "deployed"),
		setField("AddUser", "mail_address", "deployed@example.com"), setField("AddUser", "user_type", "GUEST"),
		click("AddUser", "call"), waitFor(in("AddUser", `[data-role="response"][data-user-id="4242"]`)))
	if code := finalStatus(ctx, t, "AddUser"); code != "OK" {
		t.Fatalf("AddUser: %s", code)
	}
	run(ctx, t, "GetUsersByType GUEST", setField("GetUsersByType", "user_type", "GUEST"), click("GetUsersByType", "call"),
		waitFor(in("GetUsersByType", `[data-role="response"][data-user-id="4242"]`)))
	if code := finalStatus(ctx, t, "GetUsersByType"); code != "OK" || count(ctx, t, in("GetUsersByType", `[data-role="response"]`)) != 2 {
		t.Fatalf("GetUsersByType GUEST: %s", code)
	}
	run(ctx, t, "CountAlreadyUsers: open", click("CountAlreadyUsers", "open"), waitFor(in("CountAlreadyUsers", `[data-action="send"]:not([disabled])`)))
	for i, id := range []string{"1", "99", "4242"} {
		run(ctx, t, "CountAlreadyUsers: send "+id, setField("CountAlreadyUsers", "id", id), click("CountAlreadyUsers", "send"),
			waitFor(in("CountAlreadyUsers", fmt.Sprintf(`[data-role="sent"] li:nth-child(%d)`, i+1))))
	}
	run(ctx, t, "CountAlreadyUsers: finish", click("CountAlreadyUsers", "close-send"))
	if code := finalStatus(ctx, t, "CountAlreadyUsers"); code != "OK" {
		t.Fatalf("CountAlreadyUsers 1 99 4242: %s\n%s", code, pageState(ctx))
	}
	if n := text(ctx, t, in("CountAlreadyUsers", `[data-role="count"]`)); n != "2" {
		t.Fatalf("CountAlreadyUsers 1 99 4242: count %q; want 2", n)
	}
	run(ctx, t, "GetUsersByIds: open and send 5", click("GetUsersByIds", "open"),
		waitFor(in("GetUsersByIds", `[data-action="send"]:not([disabled])`)),
		setField("GetUsersByIds", "id", "5"), click("GetUsersByIds", "send"),
		waitFor(in("GetUsersByIds", `[data-role="response"][data-user-id="5"]`)),
		click("GetUsersByIds", "close-send"))
	if code := finalStatus(ctx, t, "GetUsersByIds"); code != "OK" {
		t.Fatalf("GetUsersByIds: %s", code)
	}
}

// TestPageOverTLS: served with -tls-cert, the page loads over HTTP/2 with
// TLS and the five cards work, the streaming ones over wss.
func TestPageOverTLS(t *testing.T) {
	cert := servertest.NewCertificate(t, "127.0.0.1")
	ts := servertest.Start(t, server.Config{TLSCertFile: cert.CertFile, TLSKeyFile: cert.KeyFile})
	ctx := browser(t, chromedp.Flag("ignore-certificate-errors", true))
	run(ctx, t, "load the page over TLS", chromedp.Navigate("https://"+ts.Addr+"/"), waitFor(`body[data-ready="true"]`))
	proto, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.protocol + " " + performance.getEntriesByType("navigation")[0].nextHopProtocol`))
	if err != nil || proto != "https: h2" {
		t.Fatalf("the page came over %q (%v); want https and h2", proto, err)
	}
	// The bridge's sockets are wss: the client dials the page's origin.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { window.sockets = []; const WS = window.WebSocket;
		window.WebSocket = function (url, p) { window.sockets.push(url); return new WS(url, p); }; window.WebSocket.prototype = WS.prototype; return true })()`)); err != nil {
		t.Fatal(err)
	}
	fiveCards(ctx, t)
	urls, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.sockets`))
	if err != nil || len(urls) == 0 || !strings.HasPrefix(urls[0], "wss://") {
		t.Fatalf("the streaming cards' sockets: %v, %v; want wss:// URLs", urls, err)
	}
}

// TestPageAsFront: before a backend (-backend) the banner names it; the
// UserManager cards show, and work through the front, only when the
// backend offers UserManager; otherwise the explorer is the page.
func TestPageAsFront(t *testing.T) {
	serve := func(register func(*grpc.Server)) string {
		gs := grpc.NewServer()
		register(gs)
		reflection.Register(gs)
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go gs.Serve(ln)
		t.Cleanup(gs.Stop)
		return ln.Addr().String()
	}
	users := servertest.Start(t, server.Config{}) // its store, behind a plain grpc.Server below
	withUsers := serve(func(gs *grpc.Server) { pb.RegisterUserManagerServer(gs, usermanager.New(users.Store, 0, nil)) })
	withoutUsers := serve(func(gs *grpc.Server) { testgrpc.RegisterTestServiceServer(gs, interop.NewTestServer()) })

	t.Run("backend with UserManager", func(t *testing.T) {
		front := servertest.Start(t, server.Config{Backend: &front.Backend{Addr: withUsers}}, servertest.WithoutStore())
		ctx := browser(t)
		run(ctx, t, "load the front's page", chromedp.Navigate(front.URL+"/"), waitFor(`body[data-ready="true"]`),
			waitFor(`[data-role="schema-status"][data-state="ready"]`), waitFor(`main.grid`))
		if banner := text(ctx, t, `#conn`); !strings.Contains(banner, withUsers) {
			t.Fatalf("banner %q does not name the backend %s", banner, withUsers)
		}
		fiveCards(ctx, t)
	})
	t.Run("backend without UserManager", func(t *testing.T) {
		front := servertest.Start(t, server.Config{Backend: &front.Backend{Addr: withoutUsers}}, servertest.WithoutStore())
		ctx := browser(t)
		run(ctx, t, "load the front's page", chromedp.Navigate(front.URL+"/"), waitFor(`body[data-ready="true"]`),
			waitFor(`[data-explorer]`), waitFor(`[data-role="schema-status"][data-state="ready"]`),
			waitPresent(`select[name="method"] option[value="/grpc.testing.TestService/FullDuplexCall"]`))
		if banner := text(ctx, t, `#conn`); !strings.Contains(banner, withoutUsers) {
			t.Fatalf("banner %q does not name the backend %s", banner, withoutUsers)
		}
		if visible := evalJS[bool](ctx, t, `document.querySelector("main.grid").checkVisibility() || document.querySelector("p.demo").checkVisibility()`); visible {
			t.Fatal("the UserManager cards, or the demo's header, show for a backend without UserManager")
		}
	})
}
