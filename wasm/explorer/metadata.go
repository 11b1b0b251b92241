package explorer

import (
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcwire"
	"github.com/grpcplay/playground/wasm/client"
)

// ParseMetadata reads request metadata from the page's editor: one
// "name: value" per line, names case-insensitive, values of "-bin" names in
// base64 (padded or not), blank lines and lines starting with # skipped.
// The error names the line at fault, and a name the protocol sets itself
// (grpc-timeout is the deadline field's) is refused rather than dropped.
func ParseMetadata(text string) (metadata.MD, error) {
	md := metadata.MD{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		where := "metadata line " + strconv.Itoa(i+1) + ": "
		name, value, ok := strings.Cut(line, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		switch {
		case !ok:
			return nil, errors.New(where + "want name: value")
		case !grpcwire.ValidName(name):
			return nil, errors.New(where + strconv.Quote(name) + " is not a header name")
		case protocolHeader(name):
			return nil, errors.New(where + name + " is set by the protocol" + deadlineNote(name))
		case strings.HasSuffix(name, "-bin"):
			raw, err := decodeBase64(value)
			if err != nil {
				return nil, errors.New(where + name + " is a binary header: give its value in base64")
			}
			value = string(raw)
		case !headerText(value):
			return nil, errors.New(where + "the value of " + name + " has characters a header cannot carry: name it " + name + "-bin and give base64")
		}
		md[name] = append(md[name], value)
	}
	return md, nil
}

// protocolHeader reports whether gRPC, gRPC-Web or HTTP set name
// themselves, so that metadata may not: the client's own rule.
func protocolHeader(name string) bool { return client.ReservedHeader(name) }

func deadlineNote(name string) string {
	if name == "grpc-timeout" {
		return ": use the deadline field"
	}
	return ""
}

// headerText reports whether a value can travel in an HTTP header as it
// is: printable ASCII and tabs.
func headerText(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c > '~' {
			return false
		}
	}
	return true
}

func decodeBase64(s string) ([]byte, error) {
	if strings.HasSuffix(s, "=") {
		return base64.StdEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

// FormatMetadata writes md as "name: value" lines, names sorted, "-bin"
// values in base64, as the page shows headers and trailers.
func FormatMetadata(md metadata.MD) string {
	keys := make([]string, 0, len(md))
	for k := range md {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range md[k] {
			if strings.HasSuffix(k, "-bin") {
				v = base64.StdEncoding.EncodeToString([]byte(v))
			}
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

// SecretHeader reports whether a metadata name looks like it carries a
// secret: authorization, proxy-authorization, cookie, or any name with
// token, secret, password or key in it, in any case. Such headers stay out
// of links and the history unless the person asks for them.
func SecretHeader(name string) bool {
	name = strings.ToLower(strings.TrimSpace(name))
	switch name {
	case "authorization", "proxy-authorization", "cookie":
		return true
	}
	for _, word := range []string{"token", "secret", "password", "key"} {
		if strings.Contains(name, word) {
			return true
		}
	}
	return false
}

// WithoutSecrets returns the metadata editor's text without the lines whose
// names SecretHeader flags, and those names, in order, once each.
func WithoutSecrets(text string) (kept string, left []string) {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		name, _, ok := strings.Cut(line, ":")
		trimmed := strings.TrimSpace(line)
		if ok && trimmed != "" && !strings.HasPrefix(trimmed, "#") && SecretHeader(name) {
			n := strings.ToLower(strings.TrimSpace(name))
			if !slices.Contains(left, n) {
				left = append(left, n)
			}
			continue
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n"), left
}
