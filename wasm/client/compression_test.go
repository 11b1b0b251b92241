package client

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"runtime"
	"slices"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

func gzipped(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Compressed frames are read in the encoding the response headers name, up
// to the message limit after decompression.
func TestParserCompressed(t *testing.T) {
	gzFrame := func(b []byte) []byte { return grpcwire.AppendFrame(nil, grpcwire.FlagCompressed, gzipped(t, b)) }
	trailers := grpcwire.AppendHeaderBlock(nil, metadata.MD{"grpc-status": {"0"}})
	cases := []struct {
		name     string
		encoding string
		body     []byte
		want     []string
	}{
		{"gzip message", Gzip, cat(gzFrame([]byte("hello")), block(metadata.MD{"grpc-status": {"0"}})),
			[]string{`message "hello"`, "trailers map[grpc-status:[0]]", "EOF"}},
		{"gzip trailers", Gzip, grpcwire.AppendFrame(nil, grpcwire.FlagTrailer|grpcwire.FlagCompressed, gzipped(t, trailers)),
			[]string{"trailers map[grpc-status:[0]]", "EOF"}},
		{"uncompressed frames under gzip", Gzip, cat(msgFrame("plain"), block(metadata.MD{"grpc-status": {"0"}})),
			[]string{`message "plain"`, "trailers map[grpc-status:[0]]", "EOF"}},
		{"exactly the limit", Gzip, gzFrame(make([]byte, testMax)),
			[]string{fmt.Sprintf("message %q", make([]byte, testMax)), "no trailers"}},
		{"one byte over the limit", Gzip, gzFrame(make([]byte, testMax+1)), []string{"error ResourceExhausted"}},
		{"compressed under identity", identity, gzFrame([]byte("x")), []string{"error Internal"}},
		{"compressed trailers without an encoding", "", grpcwire.AppendFrame(nil, grpcwire.FlagTrailer|grpcwire.FlagCompressed, gzipped(t, trailers)),
			[]string{"error Internal"}},
		{"an encoding this client does not have", "zstd", gzFrame([]byte("x")), []string{"error Internal"}},
		{"not gzip", Gzip, grpcwire.AppendFrame(nil, grpcwire.FlagCompressed, []byte("plain text")), []string{"error Internal"}},
		{"truncated gzip", Gzip, grpcwire.AppendFrame(nil, grpcwire.FlagCompressed, gzipped(t, []byte("hello"))[:12]), []string{"error Internal"}},
		{"unknown flag", Gzip, grpcwire.AppendFrame(nil, 0x02, []byte("x")), []string{"error Internal"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := newParser(bytes.NewReader(tc.body), testMax, false)
			p.dec.encoding = tc.encoding
			if got := parseAll(p); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// A gzip bomb, 1 GiB of zeros in a frame of about 1 MiB (gzip members of
// 1 MiB each, one after the other, as gzip allows), ends the
// call with ResourceExhausted, having held no more than the limit of it.
func TestParserGzipBomb(t *testing.T) {
	const limit = 4 << 20
	member := gzipped(t, make([]byte, 1<<20))
	bomb := bytes.Repeat(member, 1024)
	body := grpcwire.AppendFrame(nil, grpcwire.FlagCompressed, bomb)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := newParser(bytes.NewReader(body), limit, false)
	p.dec.encoding = Gzip
	_, err := p.next()
	runtime.ReadMemStats(&after)
	if grpcstatus.Code(err) != codes.ResourceExhausted {
		t.Fatalf("1 GiB in %d KiB of gzip: got %v, want ResourceExhausted", len(bomb)>>10, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc - uint64(len(body)); alloc > 3*limit {
		t.Errorf("reading the bomb allocated %d MiB besides the frame; the limit is %d MiB", alloc>>20, limit>>20)
	}
}
