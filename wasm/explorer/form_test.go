//go:build !js

package explorer_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/server/servertest/explorertest"
	"github.com/grpcplay/playground/wasm/explorer"
)

// richSchema loads the rich schema through the front, as the page does.
func richSchema(t *testing.T) *explorer.Schema {
	t.Helper()
	backend := explorertest.StartRich(t)
	front := explorertest.StartFront(t, backend.Addr)
	s, _ := load(t, front.URL, explorer.LoadOptions{})
	return s
}

// The form edits every field kind and keeps the JSON in step: what it
// writes parses back to the same message.
func TestFormEditsEveryKind(t *testing.T) {
	s := richSchema(t)
	place := s.Method("/rich.v1.Orders/Place")
	text, _ := explorer.Template(place.Desc.Input())
	f, err := s.NewForm(place, text)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct{ action, path, arg string }{
		{"set", "id", "o-1"},
		{"set", "quantity", "5"},
		{"set", "stamp", "18446744073709551615"},
		{"set", "ratio", "NaN"},
		{"set", "level", "HIGH"},
		{"set", "blob", "AAEC"},
		{"do:set", "customer.referrer", ""},
		{"set", "customer.referrer.name", "ref"},
		{"do:add", "Line", ""},
		{"set", "Line[0].sku", "sku-1"},
		{"do:add", "labels", ""},
		{"do:add", "labels", ""},
		{"set", "labels[1]", "one"},
		{"do:key", "labels[0]", "7"},
		{"do:add", "by_id", ""},
		{"set", "by_id[0].name", "zero"},
		{"do:add", "stages", ""},
		{"set", "stages[0]", "SENT"},
		{"do:add", "flags", ""},
		{"set", "flags[0]", "true"},
		{"do:oneof", "payment", "account"},
		{"set", "account", "-9223372036854775808"},
		{"do:add", "codes", ""},
		{"set", "codes[0]", "-3"},
	}
	for _, st := range steps {
		var err error
		if a, ok := strings.CutPrefix(st.action, "do:"); ok {
			err = f.Do(a, st.path, st.arg)
		} else {
			err = f.Set(st.path, st.arg)
		}
		if err != nil {
			t.Fatalf("%s %s %q: %v", st.action, st.path, st.arg, err)
		}
	}
	req, err := s.ParseRequest(place, f.JSON())
	if err != nil {
		t.Fatalf("the form's JSON does not parse: %v\n%s", err, f.JSON())
	}
	if _, err := proto.Marshal(req); err != nil {
		t.Fatalf("the form's request does not encode: %v", err)
	}
	j := f.JSON()
	for _, want := range []string{`"id": "o-1"`, `"quantity": 5`, `"stamp": "18446744073709551615"`, `"ratio": "NaN"`, `"level": "HIGH"`,
		`"blob": "AAEC"`, `"referrer": {`, `"name": "ref"`, `"sku": "sku-1"`, `"7": ""`, `"1": "one"`, `"0": {`, `"0": "SENT"`, `"0": true`,
		`"account": "-9223372036854775808"`, `"codes": [`} {
		if !strings.Contains(j, want) {
			t.Errorf("JSON lacks %s:\n%s", want, j)
		}
	}
	html := f.HTML()
	for _, want := range []string{`data-field="customer.referrer.name"`, `data-field="Line[0].sku"`, `data-map-key="labels[7]"`,
		`data-field="by_id[0].name"`, `data-oneof="payment"`, `data-field="account"`, `data-form-action="add" data-path="Line"`, `data-file-for="blob"`} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %s", want)
		}
	}
	// Bad input is refused with what the field takes, and changes nothing.
	for path, bad := range map[string]string{"quantity": "12a", "stamp": "-1", "level": "MEDIUM", "blob": "!!", "codes[0]": "1.5"} {
		before := f.JSON()
		if err := f.Set(path, bad); err == nil {
			t.Errorf("Set(%s, %q) was accepted", path, bad)
		}
		if f.JSON() != before {
			t.Errorf("Set(%s, %q) changed the message", path, bad)
		}
	}
	if err := f.Do("key", "labels[1]", "7"); err == nil {
		t.Error("a map key moved onto a taken one")
	}
	if err := f.Do("clear", "customer", ""); err == nil {
		t.Error("a required field was cleared")
	}
}

// Well-known types have widgets of their own, and a recursive message
// opens one level at a time.
func TestFormWellKnownAndRecursive(t *testing.T) {
	s := richSchema(t)
	all := s.Method("/rich.v1.Known/All")
	f, err := s.NewForm(all, "{}")
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range [][2]string{
		{"at", "2024-05-06T07:08:09.5"}, {"duration", "1.5"}, {"int64", "9007199254740993"}, {"bool", "true"},
		{"string", "s"}, {"bytes", "AAEC"}, {"mask", "a.b, c"}, {"empty", "{}"}, {"struct", `{"k": [1, "x"]}`},
		{"value", "3"}, {"list", `[true]`}, {"any", `{"@type": "type.googleapis.com/google.protobuf.Duration", "value": "2s"}`},
	} {
		if err := f.Set(st[0], st[1]); err != nil {
			t.Fatalf("Set(%s, %q): %v", st[0], st[1], err)
		}
	}
	j := f.JSON()
	for _, want := range []string{`"at": "2024-05-06T07:08:09.500Z"`, `"duration": "1.500s"`, `"int64": "9007199254740993"`, `"bool": true`,
		`"mask": "a.b,c"`, `"empty": {}`, `"k": [`, `"value": 3`, `"list": [`, `"value": "2s"`} {
		if !strings.Contains(j, want) {
			t.Errorf("JSON lacks %s:\n%s", want, j)
		}
	}
	if err := f.Set("at", "yesterday"); err == nil {
		t.Error("a bad time was accepted")
	}
	if err := f.Set("struct", strings.Repeat("[", 300)); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("a deep Struct: %v", err)
	}

	grow := s.Method("/rich.v1.Editions/Grow")
	f, err = s.NewForm(grow, `{"name": "root"}`)
	if err != nil {
		t.Fatal(err)
	}
	if html := f.HTML(); !strings.Contains(html, `data-form-action="set" data-path="parent"`) || strings.Contains(html, `data-field="parent.name"`) {
		t.Fatalf("an unset recursive field is not closed:\n%s", html)
	}
	if err := f.Do("set", "parent", ""); err != nil {
		t.Fatal(err)
	}
	if err := f.Set("parent.name", "up"); err != nil {
		t.Fatal(err)
	}
	if html := f.HTML(); !strings.Contains(html, `data-form-action="set" data-path="parent.parent"`) {
		t.Fatal("the opened message does not offer its own parent")
	}
}
