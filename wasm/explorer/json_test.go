//go:build !js

package explorer_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/grpcplay/playground/pb"
	"github.com/grpcplay/playground/server/servertest/explorertest"
	"github.com/grpcplay/playground/wasm/explorer"
)

// acmeSchema is the schema of StartAcme's server, whose acme.EchoRequest
// has an Any, a Timestamp, an enum, a oneof, a nested message and a field
// whose json_name differs from its name.
func acmeSchema(t *testing.T) (*explorer.Schema, *explorer.Method) {
	t.Helper()
	s, _ := load(t, explorertest.StartAcme(t).URL, explorer.LoadOptions{})
	return s, s.Method("/acme.Echo/Say")
}

func TestAnyToAndFromJSON(t *testing.T) {
	s, say := acmeSchema(t)
	for _, c := range []struct {
		json, url string
		check     func(*anypb.Any) bool
	}{
		// A type from a file the server sent (user.proto).
		{`{"detail": {"@type": "type.googleapis.com/User", "id": 7, "nickname": "n", "userType": "GUEST"}}`, "type.googleapis.com/User", func(a *anypb.Any) bool {
			u := new(pb.User)
			return a.UnmarshalTo(u) == nil && u.GetId() == 7 && u.GetNickname() == "n" && u.GetUserType() == pb.User_GUEST
		}},
		// A type from the fallbacks, which the server never sent.
		{`{"detail": {"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": [{"field": "text"}]}}`, "type.googleapis.com/google.rpc.BadRequest", func(a *anypb.Any) bool {
			return len(a.GetValue()) > 0
		}},
	} {
		req, err := s.ParseRequest(say, c.json)
		if err != nil {
			t.Fatalf("ParseRequest(%s): %v", c.json, err)
		}
		b, err := proto.Marshal(req.Get(say.Desc.Input().Fields().ByName("detail")).Message().Interface())
		if err != nil {
			t.Fatal(err)
		}
		a := new(anypb.Any)
		if err := proto.Unmarshal(b, a); err != nil || a.GetTypeUrl() != c.url || !c.check(a) {
			t.Fatalf("%s: the Any holds %v (%v)", c.json, a, err)
		}
		out, err := s.FormatMessage(req, false)
		if err != nil || !strings.Contains(out, `"@type":"`+c.url+`"`) {
			t.Fatalf("FormatMessage: %s, %v", out, err)
		}
		again, err := s.ParseRequest(say, out)
		if err != nil || !proto.Equal(again, req) {
			t.Fatalf("%s does not read back as what it was written from: %v", out, err)
		}
	}
	_, err := s.ParseRequest(say, `{"detail": {"@type": "type.googleapis.com/acme.Nope"}}`)
	if err == nil || !strings.Contains(err.Error(), "acme.Nope") {
		t.Fatalf("an Any of an unknown type: %v; want an error naming it", err)
	}
}

func TestParseRequestAcceptsWhatProtojsonAccepts(t *testing.T) {
	s, say := acmeSchema(t)
	in := say.Desc.Input().Fields()
	for _, c := range []struct {
		json  string
		field protoreflect.Name
		want  any
	}{
		{`{"big": 5}`, "big", int64(5)},
		{`{"big": "-9007199254740993"}`, "big", int64(-9007199254740993)},
		{`{"mood": "GRUMPY"}`, "mood", protoreflect.EnumNumber(2)},
		{`{"mood": 1}`, "mood", protoreflect.EnumNumber(1)},
		{`{"reply_to": "a"}`, "reply_to", "a"},
		{`{"replyTo": "b"}`, "reply_to", "b"},
		{`{"number": 4}`, "number", uint32(4)},
		{"  ", "text", ""},
	} {
		req, err := s.ParseRequest(say, c.json)
		if err != nil {
			t.Errorf("ParseRequest(%s): %v", c.json, err)
			continue
		}
		if got := req.Get(in.ByName(c.field)).Interface(); got != c.want {
			t.Errorf("ParseRequest(%s): %s = %v (%T); want %v", c.json, c.field, got, got, c.want)
		}
	}
	for _, c := range []struct{ json, want string }{
		{`{"big": "many"}`, "big"},
		{`{"mood": "SAD"}`, "mood"},
		{`{"nope": 1}`, `unknown field "nope"`},
		{`{"name": "a", "number": 1}`, "number"},
		{`{"text": "a"`, "unexpected EOF"},
	} {
		if _, err := s.ParseRequest(say, c.json); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseRequest(%s): %v; want an error with %q", c.json, err, c.want)
		}
	}
}

func TestTemplate(t *testing.T) {
	s, say := acmeSchema(t)
	text, hint := explorer.Template(say.Desc.Input())
	want := `{
  "text": "",
  "big": 0,
  "mood": "MOOD_UNSPECIFIED",
  "detail": {},
  "at": "1970-01-01T00:00:00Z",
  "name": "",
  "inner": {
    "note": "",
    "deeper": {},
    "tags": []
  },
  "reply_to": ""
}`
	if text != want {
		t.Fatalf("template:\n%s\nwant:\n%s", text, want)
	}
	wantHint := []string{
		"mood (Mood): MOOD_UNSPECIFIED | HAPPY | GRUMPY, or their numbers",
		`detail (Any): {"@type": "type.googleapis.com/<full message name>", ...that message's fields}`,
		"choice (oneof): set one of name | number",
	}
	if strings.Join(hint, "\n") != strings.Join(wantHint, "\n") {
		t.Fatalf("hint %q; want %q", hint, wantHint)
	}
	// The template is a request as it stands.
	if _, err := s.ParseRequest(say, text); err != nil {
		t.Fatalf("the template does not parse: %v", err)
	}

	add := s.Method("/UserManager/AddUser")
	text, hint = explorer.Template(add.Desc.Input())
	if want := "{\n  \"id\": 0,\n  \"nickname\": \"\",\n  \"mail_address\": \"\",\n  \"user_type\": \"NONE\"\n}"; text != want {
		t.Fatalf("AddUser template:\n%s\nwant:\n%s", text, want)
	}
	if len(hint) != 1 || hint[0] != "user_type (UserType): NONE | NORMAL | ADMINISTRATOR | GUEST | DISABLED, or their numbers" {
		t.Fatalf("AddUser hint %q", hint)
	}
}

func TestFormatMessage(t *testing.T) {
	s, say := acmeSchema(t)
	req, err := s.ParseRequest(say, `{"text": "a \"b\", c: {d}", "big": 5, "inner": {"tags": ["x", "y"]}}`)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := s.FormatMessage(req, false)
	want := `{"text":"a \"b\", c: {d}","big":"5","mood":"MOOD_UNSPECIFIED","detail":null,"at":null,"inner":{"note":"","deeper":null,"tags":["x","y"]},"reply_to":""}`
	if err != nil || compact != want {
		t.Fatalf("FormatMessage, compact:\n%s, %v\nwant\n%s", compact, err, want)
	}
	multi, err := s.FormatMessage(req, true)
	want = `{
  "text": "a \"b\", c: {d}",
  "big": "5",
  "mood": "MOOD_UNSPECIFIED",
  "detail": null,
  "at": null,
  "inner": {
    "note": "",
    "deeper": null,
    "tags": [
      "x",
      "y"
    ]
  },
  "reply_to": ""
}`
	if err != nil || multi != want {
		t.Fatalf("FormatMessage, multiline:\n%s, %v\nwant\n%s", multi, err, want)
	}
	if got := explorer.IndentJSON(compact); got != want {
		t.Fatalf("IndentJSON:\n%s\nwant\n%s", got, want)
	}
	if empty, _ := s.FormatMessage(s.Method("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo").NewRequest(), true); !strings.Contains(empty, `"host": ""`) {
		t.Fatalf("an empty request: %s", empty)
	}
}
