package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"
	"testing/iotest"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

func block(md metadata.MD) []byte {
	return grpcwire.AppendFrame(nil, grpcwire.FlagTrailer, grpcwire.AppendHeaderBlock(nil, md))
}

func msgFrame(s string) []byte { return grpcwire.AppendFrame(nil, grpcwire.FlagData, []byte(s)) }

func cat(parts ...[]byte) []byte { return slices.Concat(parts...) }

// parseAll runs p to its end and describes every event and the final
// error, one string each, so runs can be compared.
func parseAll(p *parser) []string {
	var out []string
	for {
		ev, err := p.next()
		if err != nil {
			switch {
			case err == io.EOF:
				out = append(out, "EOF")
			case err == errNoTrailers:
				out = append(out, "no trailers")
			default:
				out = append(out, "error "+grpcstatus.Code(err).String())
			}
			return out
		}
		switch ev.kind {
		case evHeaders:
			out = append(out, fmt.Sprintf("headers %v", map[string][]string(ev.md)))
		case evMessage:
			out = append(out, fmt.Sprintf("message %q", ev.msg))
		case evTrailers:
			out = append(out, fmt.Sprintf("trailers %v", map[string][]string(ev.md)))
		}
	}
}

var parserCases = []struct {
	name          string
	body          []byte
	headersInBody bool
	want          []string
}{
	{
		name: "grpc-web stream",
		body: cat(msgFrame("one"), msgFrame(""), msgFrame("three"), block(metadata.MD{"grpc-status": {"0"}, "x-t": {"v"}})),
		want: []string{`message "one"`, `message ""`, `message "three"`, "trailers map[grpc-status:[0] x-t:[v]]", "EOF"},
	},
	{
		name:          "grpc-websockets stream",
		body:          cat(block(metadata.MD{"content-type": {"application/grpc-web+proto"}}), msgFrame("a"), block(metadata.MD{"grpc-status": {"5"}})),
		headersInBody: true,
		want:          []string{"headers map[content-type:[application/grpc-web+proto]]", `message "a"`, "trailers map[grpc-status:[5]]", "EOF"},
	},
	{
		name:          "grpc-websockets trailers-only",
		body:          block(metadata.MD{"grpc-status": {"3"}, "grpc-message": {"bad"}}),
		headersInBody: true,
		want:          []string{"trailers map[grpc-message:[bad] grpc-status:[3]]", "EOF"},
	},
	{
		name: "ends without trailers",
		body: msgFrame("x"),
		want: []string{`message "x"`, "no trailers"},
	},
	{
		name: "ends inside a frame",
		body: msgFrame("xyz")[:6],
		want: []string{"error Internal"},
	},
	{
		name: "compressed frame",
		body: grpcwire.AppendFrame(nil, grpcwire.FlagCompressed, []byte("z")),
		want: []string{"error Internal"},
	},
	{
		name:          "message before headers",
		body:          msgFrame("early"),
		headersInBody: true,
		want:          []string{"error Internal"},
	},
	{
		name: "frame over the limit",
		body: msgFrame(string(make([]byte, 65))),
		want: []string{"error ResourceExhausted"},
	},
	{
		name: "malformed header block",
		body: grpcwire.AppendFrame(nil, grpcwire.FlagTrailer, []byte("no colon here\r\n")),
		want: []string{"error Internal"},
	},
	{
		name: "bytes after the trailers are not read",
		body: cat(block(metadata.MD{"grpc-status": {"0"}}), []byte("garbage")),
		want: []string{"trailers map[grpc-status:[0]]", "EOF"},
	},
}

const testMax = 64

// The parser gives the same events however the body is split on its way:
// at every byte boundary through an io.Pipe, and one byte per read.
func TestParserSplits(t *testing.T) {
	for _, tc := range parserCases {
		t.Run(tc.name, func(t *testing.T) {
			whole := parseAll(newParser(bytes.NewReader(tc.body), testMax, tc.headersInBody))
			if !slices.Equal(whole, tc.want) {
				t.Fatalf("got %q\nwant %q", whole, tc.want)
			}
			oneByte := parseAll(newParser(iotest.OneByteReader(bytes.NewReader(tc.body)), testMax, tc.headersInBody))
			if !slices.Equal(oneByte, tc.want) {
				t.Fatalf("one byte at a time: got %q", oneByte)
			}
			for cut := 0; cut <= len(tc.body); cut++ {
				pr, pw := io.Pipe()
				go func() {
					pw.Write(tc.body[:cut])
					pw.Write(tc.body[cut:])
					pw.Close()
				}()
				got := parseAll(newParser(pr, testMax, tc.headersInBody))
				pr.Close()
				if !slices.Equal(got, tc.want) {
					t.Fatalf("split at %d: got %q", cut, got)
				}
			}
		})
	}
}

// Each message is returned as soon as its last byte arrived: the writer
// sends the rest of the body only after the reader got the first message.
func TestParserIsIncremental(t *testing.T) {
	pr, pw := io.Pipe()
	defer pr.Close()
	got1 := make(chan struct{})
	go func() {
		defer pw.Close()
		pw.Write(msgFrame("first"))
		<-got1
		pw.Write(cat(msgFrame("second"), block(metadata.MD{"grpc-status": {"0"}})))
	}()
	p := newParser(pr, testMax, false)
	ev, err := p.next()
	if err != nil || string(ev.msg) != "first" {
		t.Fatalf("first event %v, %v", ev, err)
	}
	close(got1)
	if got := parseAll(p); !slices.Equal(got, []string{`message "second"`, "trailers map[grpc-status:[0]]", "EOF"}) {
		t.Fatalf("rest: %q", got)
	}
}

// A read error of the body itself reaches the caller as it is, for the
// stream to map (to the context's status, or Unavailable).
func TestParserPassesReadErrors(t *testing.T) {
	boom := errors.New("connection reset")
	p := newParser(io.MultiReader(bytes.NewReader(msgFrame("a")[:3]), iotest.ErrReader(boom)), testMax, false)
	if _, err := p.next(); !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
}

func FuzzResponseParser(f *testing.F) {
	for _, tc := range parserCases {
		f.Add(tc.body, tc.headersInBody)
	}
	f.Add(cat(block(metadata.MD{"grpc-status": {"0"}, "x-bin": {"\x00\x01"}})), false)
	f.Add([]byte{0x80, 0, 0, 0, 3, 'a', ':', 'b'}, true)
	f.Add([]byte{0x80, 0xff, 0xff, 0xff, 0xff}, false)
	f.Fuzz(func(t *testing.T, body []byte, headersInBody bool) {
		var got []string
		p := newParser(bytes.NewReader(body), testMax, headersInBody)
		sawTrailers := false
		for {
			ev, err := p.next()
			if err != nil {
				if sawTrailers && err != io.EOF {
					t.Fatalf("after the trailers: %v, want io.EOF", err)
				}
				if err != io.EOF && err != errNoTrailers {
					st, ok := grpcstatus.FromError(err)
					if !ok || (st.Code() != codes.Internal && st.Code() != codes.ResourceExhausted) {
						t.Fatalf("error %v is not an Internal or ResourceExhausted status", err)
					}
				}
				break
			}
			if sawTrailers {
				t.Fatal("an event after the trailers")
			}
			switch ev.kind {
			case evMessage:
				if len(ev.msg) > testMax {
					t.Fatalf("message of %d bytes over the limit", len(ev.msg))
				}
			case evHeaders:
				if !headersInBody || len(got) > 0 {
					t.Fatal("headers event not first in a grpc-websockets body")
				}
			case evTrailers:
				sawTrailers = true
			}
			got = append(got, fmt.Sprint(ev.kind))
		}
		// However the bytes are split, the events are the same.
		whole := parseAll(newParser(bytes.NewReader(body), testMax, headersInBody))
		oneByte := parseAll(newParser(iotest.OneByteReader(bytes.NewReader(body)), testMax, headersInBody))
		if !slices.Equal(whole, oneByte) {
			t.Fatalf("whole %q, one byte at a time %q", whole, oneByte)
		}
	})
}
