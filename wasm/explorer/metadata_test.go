package explorer_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/wasm/explorer"
)

func TestParseMetadata(t *testing.T) {
	md, err := explorer.ParseMetadata("Authorization: Bearer abc\n\n# a comment\nx-tag: one\nx-tag:two  \ntrace-bin: AAEC\nraw-bin: AAECAw==\n")
	want := metadata.MD{
		"authorization": {"Bearer abc"},
		"x-tag":         {"one", "two"},
		"trace-bin":     {"\x00\x01\x02"},
		"raw-bin":       {"\x00\x01\x02\x03"},
	}
	if err != nil || !reflect.DeepEqual(md, want) {
		t.Fatalf("ParseMetadata = %q, %v; want %q", md, err, want)
	}
	if got := explorer.FormatMetadata(md); got != "authorization: Bearer abc\nraw-bin: AAECAw==\ntrace-bin: AAEC\nx-tag: one\nx-tag: two\n" {
		t.Fatalf("FormatMetadata = %q", got)
	}
	for _, c := range []struct{ text, want string }{
		{"no colon here", "metadata line 1: want name: value"},
		{"ok: 1\nbad name: 2", `metadata line 2: "bad name" is not a header name`},
		{"grpc-timeout: 1S", "metadata line 1: grpc-timeout is set by the protocol: use the deadline field"},
		{"content-type: text/plain", "metadata line 1: content-type is set by the protocol"},
		{"key-bin: not base64!", "metadata line 1: key-bin is a binary header: give its value in base64"},
		{"note: café", "metadata line 1: the value of note has characters a header cannot carry: name it note-bin and give base64"},
	} {
		if _, err := explorer.ParseMetadata(c.text); err == nil || err.Error() != c.want {
			t.Errorf("ParseMetadata(%q): %v; want %q", c.text, err, c.want)
		}
	}
}

func TestParseDeadline(t *testing.T) {
	for _, c := range []struct {
		text string
		want time.Duration
	}{
		{"", 0}, {"  ", 0}, {"5s", 5 * time.Second}, {"250ms", 250 * time.Millisecond},
		{"1m30s", 90 * time.Second}, {"2.5", 2500 * time.Millisecond}, {"3", 3 * time.Second},
	} {
		if got, err := explorer.ParseDeadline(c.text); err != nil || got != c.want {
			t.Errorf("ParseDeadline(%q) = %v, %v; want %v", c.text, got, err, c.want)
		}
	}
	for _, text := range []string{"soon", "-1s", "0"} {
		if _, err := explorer.ParseDeadline(text); err == nil || !strings.HasPrefix(err.Error(), "deadline: ") {
			t.Errorf("ParseDeadline(%q): %v; want a deadline error", text, err)
		}
	}
}

func TestWithoutSecrets(t *testing.T) {
	text := "Authorization: Bearer x\nx-trace: abc\nX-API-Key: k\n# cookie: comment stays\nmy-token-bin: AAE\nproxy-authorization: p\nuser: ok"
	kept, left := explorer.WithoutSecrets(text)
	if kept != "x-trace: abc\n# cookie: comment stays\nuser: ok" {
		t.Fatalf("kept %q", kept)
	}
	if strings.Join(left, ",") != "authorization,x-api-key,my-token-bin,proxy-authorization" {
		t.Fatalf("left out %q", left)
	}
	for name, want := range map[string]bool{"Cookie": true, "x-Secret-ID": true, "PASSWORD": true, "x-trace": false, "grpc-keyed": true, "accept": false} {
		if explorer.SecretHeader(name) != want {
			t.Errorf("SecretHeader(%q) = %v", name, !want)
		}
	}
}
