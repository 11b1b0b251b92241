//go:build !js

package explorer_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/grpcplay/playground/server/servertest/explorertest"
	"github.com/grpcplay/playground/wasm/explorer"
)

// The untouched template of every method of a rich schema (proto2 with
// required fields and groups, every well-known type, int-keyed maps,
// recursion, editions 2023) parses, encodes with every required field set,
// and is accepted by a grpc-go server behind the playground's front.
func TestTemplateOfEveryMethodReachesTheServer(t *testing.T) {
	backend := explorertest.StartRich(t)
	front := explorertest.StartFront(t, backend.Addr)
	s, conn := load(t, front.URL, explorer.LoadOptions{})
	methods := 0
	for _, svc := range s.Services {
		if !strings.HasPrefix(svc.Name, "rich.") {
			continue
		}
		if svc.Err != "" {
			t.Errorf("%s: %s", svc.Name, svc.Err)
		}
		for _, m := range svc.Methods {
			methods++
			text, _ := explorer.Template(m.Desc.Input())
			req, err := s.ParseRequest(m, text)
			if err != nil {
				t.Errorf("%s: the template does not parse: %v\n%s", m.Path, err, text)
				continue
			}
			if _, err := proto.Marshal(req); err != nil {
				t.Errorf("%s: the template does not encode: %v\n%s", m.Path, err, text)
				continue
			}
			before := backend.Calls.Count(m.Path)
			requests := []string{text}
			if m.Path == "/rich.v1.Editions/Stream" {
				requests = []string{`{"count": 3, "size": 10}`}
			}
			if _, _, err := call(t, s, conn, m.Path, requests...); err != nil {
				t.Errorf("%s: %v\n%s", m.Path, err, text)
			}
			if backend.Calls.Count(m.Path) != before+1 || backend.LastRequest(m.Path) == "" {
				t.Errorf("%s: the server did not receive the request", m.Path)
			}
		}
	}
	if methods < 20 {
		t.Fatalf("%d rich methods listed", methods)
	}
}

func TestTemplateOfRichMessages(t *testing.T) {
	files, err := explorertest.CompileRich()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		msg, want string
		hint      []string
	}{
		{"google.protobuf.Timestamp", `"1970-01-01T00:00:00Z"`, nil},
		{"google.protobuf.Struct", `{}`, nil},
		{"google.protobuf.Value", `null`, nil},
		{"google.protobuf.Int64Value", `0`, nil},
		{"rich.v1.Order", `{
  "id": "",
  "note": "",
  "customer": {
    "name": ""
  },
  "Shipping": {
    "address": ""
  },
  "Line": [],
  "labels": {},
  "by_id": {},
  "flags": {},
  "stages": {},
  "level": "LOW",
  "blob": "",
  "card": "",
  "stamp": 0,
  "codes": []
}`, []string{
			"quantity: left out, so the default 1 holds",
			"priority: left out, so the default HIGH holds",
			"ratio: left out, so the default 0.5 holds",
			"customer.age: left out, so the default 18 holds",
			"Shipping.days: left out, so the default 3 holds",
			"stages[…] (Stage): NEW | PACKED | SENT, or their numbers",
			"level (Priority): LOW | HIGH, or their numbers",
			"payment (oneof): set one of card | account",
		}},
		{"rich.v1.Settings", `{
  "name": "",
  "plain": 0,
  "Window": {
    "start": 0,
    "end": 0
  },
  "mode": "MODE_FAST",
  "ports": [],
  "comment": ""
}`, []string{"retries: left out, so the default 7 holds", "mode (Mode): MODE_FAST | MODE_SAFE, or their numbers"}},
	} {
		d, err := files.FindDescriptorByName(protoreflectName(c.msg))
		if err != nil {
			t.Fatal(err)
		}
		text, hint := explorer.Template(messageDesc(d))
		if text != c.want {
			t.Errorf("%s:\n%s\nwant:\n%s", c.msg, text, c.want)
		}
		if c.hint != nil && strings.Join(hint, "\n") != strings.Join(c.hint, "\n") {
			t.Errorf("%s hint:\n%s\nwant:\n%s", c.msg, strings.Join(hint, "\n"), strings.Join(c.hint, "\n"))
		}
	}
}

func protoreflectName(s string) protoreflect.FullName { return protoreflect.FullName(s) }

func messageDesc(d protoreflect.Descriptor) protoreflect.MessageDescriptor {
	return d.(protoreflect.MessageDescriptor)
}

// deepTree is a rich.v1.Tree request nested depth levels through parent.
func deepTree(depth int) string {
	return strings.Repeat(`{"parent":`, depth) + `{"name":"leaf"}` + strings.Repeat("}", depth)
}

// A request nested deeper than MaxNesting is refused with a message that
// says where, before anything recurses into it; one within it goes through,
// and so does its echo.
func TestNestingIsBounded(t *testing.T) {
	backend := explorertest.StartRich(t)
	front := explorertest.StartFront(t, backend.Addr)
	s, conn := load(t, front.URL, explorer.LoadOptions{})
	grow := s.Method("/rich.v1.Editions/Grow")
	_, err := s.ParseRequest(grow, deepTree(2000))
	if err == nil || !strings.Contains(err.Error(), "nested more than 200 levels deep") || !strings.Contains(err.Error(), "(line 1:") {
		t.Fatalf("2,000 levels: %v; want a refusal naming the limit and the place", err)
	}
	resps, _, err := call(t, s, conn, grow.Path, deepTree(explorer.MaxNesting-2))
	if err != nil || len(resps) != 1 || !strings.Contains(resps[0], "leaf") {
		t.Fatalf("%d levels: %v, %v", explorer.MaxNesting-2, resps, err)
	}
	// A response nested deeper than the bound is refused too.
	deep := grow.NewRequest()
	cur := deep.ProtoReflect()
	for range 300 {
		cur = cur.Mutable(grow.Desc.Input().Fields().ByName("parent")).Message()
	}
	b, err := proto.Marshal(deep)
	if err != nil {
		t.Fatal(err)
	}
	if err := explorer.UnmarshalResponse(b, grow.NewResponse()); err == nil {
		t.Fatal("a response 300 levels deep was decoded")
	}
}
