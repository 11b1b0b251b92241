//go:build !js

package explorer_test

import (
	"strings"
	"testing"

	"github.com/grpcplay/playground/server/servertest/explorertest"
	"github.com/grpcplay/playground/wasm/explorer"
)

func TestComplete(t *testing.T) {
	files, err := explorertest.CompileRich()
	if err != nil {
		t.Fatal(err)
	}
	d, _ := files.FindDescriptorByName("rich.v1.Order")
	order := messageDesc(d)
	labels := func(c explorer.Completion) string {
		var l []string
		for _, it := range c.Items {
			l = append(l, it.Insert)
		}
		return strings.Join(l, " ")
	}
	for _, c := range []struct{ text, want string }{
		{`{"id": "x", "qu|`, `"quantity": `},
		{`{"id": "x", "customer": {"na|`, `"name": `},
		{`{"customer": {"referrer": {"ag|`, `"age": `},
		{`{"level": "H|`, `"HIGH"`},
		{`{"level": |`, `"LOW" "HIGH"`},
		{`{"stages": {"1": "P|`, `"PACKED"`},
		{`{"Line": [{"s|`, `"sku": `},
		{`{"by_id": {"3": {"refe|`, `"referrer": `},
		{`{"id": "qu|`, ``},
		{`{"nope": {"a|`, ``},
	} {
		i := strings.IndexByte(c.text, '|')
		text := c.text[:i] + c.text[i+1:]
		if got := labels(explorer.Complete(order, text, i)); got != c.want {
			t.Errorf("Complete(%s) = %q; want %q", c.text, got, c.want)
		}
	}
	// Keys already there are not offered again; the offer replaces the
	// word under the cursor.
	text := `{"id": "x", "i`
	comp := explorer.Complete(order, text, len(text))
	for _, it := range comp.Items {
		if it.Insert == `"id": ` {
			t.Error("id offered twice")
		}
	}
	if comp.From != len(text)-2 {
		t.Errorf("From = %d; want %d", comp.From, len(text)-2)
	}
	// Deep text is scanned without recursion.
	deep := strings.Repeat(`{"customer":`, 100000)
	explorer.Complete(order, deep, len(deep))
}
