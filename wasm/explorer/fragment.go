package explorer

import (
	"strings"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// FragmentView is the URL fragment that shows the explorer:
// "#explorer", or "#explorer?" and a Shared request.
const FragmentView = "explorer"

// Shared is a request as a link carries it in its URL fragment, so that the
// link opens the same request, ready to send. Nothing is stored on the
// server.
type Shared struct {
	Method   string // "/UserManager/GetUser"
	Request  string // the request editor's JSON
	Metadata string // the metadata editor's lines
	Deadline string // the deadline field
	// Messages are the messages a client or bidi stream sent, in order,
	// for Replay; empty for other calls.
	Messages []string
}

// Fragment returns the URL fragment, without its "#", for s:
// explorer?method=...&request=...&metadata=...&deadline=..., then one
// message=... per stream message, empty fields left out, values
// percent-encoded.
func (s Shared) Fragment() string {
	var b strings.Builder
	b.WriteString(FragmentView)
	sep := byte('?')
	for _, kv := range [...][2]string{{"method", s.Method}, {"request", s.Request}, {"metadata", s.Metadata}, {"deadline", s.Deadline}} {
		if kv[1] == "" {
			continue
		}
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(kv[0] + "=" + escapeComponent(kv[1]))
	}
	for _, m := range s.Messages {
		b.WriteByte(sep)
		sep = '&'
		b.WriteString("message=" + escapeComponent(m))
	}
	return b.String()
}

// ParseFragment reads a URL fragment (with or without its "#"). ok is false
// when the fragment is not the explorer's; a fragment of the explorer
// without a request gives the zero Shared.
func ParseFragment(fragment string) (s Shared, ok bool) {
	fragment = strings.TrimPrefix(fragment, "#")
	rest, found := strings.CutPrefix(fragment, FragmentView)
	if !found || (rest != "" && rest[0] != '?') {
		return Shared{}, false
	}
	for _, part := range strings.Split(strings.TrimPrefix(rest, "?"), "&") {
		k, v, _ := strings.Cut(part, "=")
		v = unescapeComponent(v)
		switch k {
		case "method":
			s.Method = v
		case "request":
			s.Request = v
		case "metadata":
			s.Metadata = v
		case "deadline":
			s.Deadline = v
		case "message":
			if len(s.Messages) < MaxSharedMessages {
				s.Messages = append(s.Messages, v)
			}
		}
	}
	return s, true
}

// MaxSharedMessages bounds the stream messages a link carries.
const MaxSharedMessages = 1000

// escapeComponent percent-encodes every byte but letters, digits and
// -._~/:, which keeps method names readable.
func escapeComponent(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~/:", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// unescapeComponent undoes escapeComponent; a malformed escape stays as
// it is.
func unescapeComponent(s string) string { return grpcwire.UnescapePercent(s) }
