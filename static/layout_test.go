package static_test

// The page on a phone: at 360 px and up, nothing is cut off and nothing
// scrolls sideways, explorer included.

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/grpcplay/playground/server/servertest/explorertest"
)

func TestPageFitsAPhone(t *testing.T) {
	ts := explorertest.Start(t)
	for _, width := range []int64{375, 360} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			ctx := browser(t)
			run(ctx, t, "load the page", chromedp.EmulateViewport(width, 812),
				chromedp.Navigate(ts.URL+"/#explorer"), waitFor(`body[data-ready="true"]`), schemaReady(),
				// A streamed response with long JSON in the explorer, too.
				exSet("method", "/UserManager/GetUser"), exSet("request", `{"id": 1}`), exClick("call"), waitFor(ex(`[data-role="response"]`)))
			sizes := evalJS[[]int](ctx, t, `[document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]`)
			if sizes[0] != int(width) || sizes[1] != int(width) || sizes[2] != int(width) {
				t.Fatalf("at %d px: scroll width %d (body %d), viewport %d; want all %d", width, sizes[0], sizes[1], sizes[2], width)
			}
			// Every button of every card, and of the explorer, is on the
			// screen whole.
			cut := evalJS[[]string](ctx, t, `[...document.querySelectorAll("[data-method] button, [data-explorer] form button")].filter(b => {
				const r = b.getBoundingClientRect();
				return !b.checkVisibility() || r.left < 0 || r.right > window.innerWidth || r.width === 0;
			}).map(b => (b.closest("[data-method]")?.dataset.method ?? "explorer") + " " + b.dataset.action)`)
			if n := count(ctx, t, `[data-method] button`); n != 12 || len(cut) != 0 {
				t.Fatalf("at %d px, of %d card buttons, these are cut off or hidden: %q", width, n, cut)
			}
			if width == 375 {
				screenshot(ctx, t, "phone.png")
			}
		})
	}
}
