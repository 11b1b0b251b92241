package grpcwire_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

func TestReaderAcrossSplitReads(t *testing.T) {
	var stream []byte
	stream = grpcwire.AppendFrame(stream, grpcwire.FlagData, []byte("hello"))
	stream = grpcwire.AppendFrame(stream, grpcwire.FlagData, nil)
	stream = grpcwire.AppendFrame(stream, grpcwire.FlagTrailer, []byte("grpc-status: 0\r\n"))
	for name, r := range map[string]io.Reader{
		"whole":     bytes.NewReader(stream),
		"one byte":  iotest.OneByteReader(bytes.NewReader(stream)),
		"half":      iotest.HalfReader(bytes.NewReader(stream)),
		"data+EOF ": iotest.DataErrReader(bytes.NewReader(stream)),
	} {
		fr := grpcwire.NewRequestReader(r, 64)
		var got []string
		for {
			f, err := fr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			got = append(got, string(f.Payload)+map[bool]string{true: "(T)", false: ""}[f.IsTrailer()])
		}
		want := []string{"hello", "", "grpc-status: 0\r\n(T)"}
		if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
			t.Errorf("%s: frames = %q; want %q", name, got, want)
		}
	}
}

func TestReaderErrors(t *testing.T) {
	full := grpcwire.AppendFrame(nil, grpcwire.FlagData, []byte("0123456789"))
	broken := errors.New("connection reset")
	tests := []struct {
		name        string
		stream      io.Reader
		max         int
		req, resp   codes.Code // the code a request and a response reader give
		sameAsInput error      // or: the input's own error, passed through
	}{
		{name: "truncated payload", stream: bytes.NewReader(full[:8]), max: 64, req: codes.InvalidArgument, resp: codes.Internal},
		{name: "truncated prefix", stream: bytes.NewReader(full[:3]), max: 64, req: codes.InvalidArgument, resp: codes.Internal},
		{name: "over the limit", stream: bytes.NewReader(full), max: 9, req: codes.ResourceExhausted, resp: codes.ResourceExhausted},
		{name: "announces 4 GiB", stream: bytes.NewReader([]byte{0, 0xff, 0xff, 0xff, 0xff}), max: 1 << 20, req: codes.ResourceExhausted, resp: codes.ResourceExhausted},
		{name: "transport fails", stream: iotest.ErrReader(broken), max: 64, sameAsInput: broken},
	}
	for _, tc := range tests {
		b, _ := io.ReadAll(tc.stream)
		if tc.sameAsInput != nil {
			_, err := grpcwire.NewRequestReader(iotest.ErrReader(tc.sameAsInput), tc.max).Next()
			if err != tc.sameAsInput {
				t.Errorf("%s: err = %v; want the transport's own %v", tc.name, err, tc.sameAsInput)
			}
			continue
		}
		for _, side := range []struct {
			name string
			r    *grpcwire.Reader
			want codes.Code
		}{
			{"request", grpcwire.NewRequestReader(bytes.NewReader(b), tc.max), tc.req},
			{"response", grpcwire.NewResponseReader(bytes.NewReader(b), tc.max), tc.resp},
		} {
			_, err := side.r.Next()
			if st, ok := grpcstatus.FromError(err); !ok || st.Code() != side.want || st.Message() == "" {
				t.Errorf("%s, %s reader: err = %v; want a %v status with a message", tc.name, side.name, err, side.want)
			}
		}
	}
	if _, err := grpcwire.NewRequestReader(bytes.NewReader(nil), 64).Next(); err != io.EOF {
		t.Errorf("empty stream: %v; want io.EOF", err)
	}
}

func TestHeaderBlockRoundTrip(t *testing.T) {
	md := metadata.MD{
		"Authorization": {"Bearer x"},
		"trace-bin":     {"\x00\x01\xff"},
		"multi":         {"a", "b"},
		"bad":           {"line\r\nbreak"},
	}
	got, err := grpcwire.ParseHeaderBlock(grpcwire.AppendHeaderBlock(nil, md))
	if err != nil {
		t.Fatal(err)
	}
	if grpcwire.First(got, "authorization") != "Bearer x" || grpcwire.First(got, "trace-bin") != "\x00\x01\xff" || len(got["multi"]) != 2 {
		t.Fatalf("round trip = %q", got)
	}
	if _, ok := got["bad"]; ok {
		t.Fatal("a value with CRLF was written into the block")
	}
	for _, bad := range []string{"no colon here\r\n", ": empty name\r\n", "sp ace: x\r\n"} {
		if _, err := grpcwire.ParseHeaderBlock([]byte(bad)); err == nil {
			t.Errorf("ParseHeaderBlock(%q) succeeded", bad)
		}
	}
}

func TestStatusRoundTrip(t *testing.T) {
	for _, st := range []*grpcstatus.Status{
		grpcstatus.New(codes.OK, ""),
		grpcstatus.New(codes.InvalidArgument, "id: must be greater than 0"),
		grpcstatus.New(codes.Internal, "100% broken\nnext line, ünïcode"),
	} {
		md := metadata.MD{}
		grpcwire.AppendStatus(md, st)
		// Through a header block, as the wire carries it.
		parsed, err := grpcwire.ParseHeaderBlock(grpcwire.AppendHeaderBlock(nil, md))
		if err != nil {
			t.Fatal(err)
		}
		got := grpcwire.StatusFromTrailers(parsed)
		if got.Code() != st.Code() || got.Message() != st.Message() {
			t.Errorf("round trip of %v = %v", st, got)
		}
	}
	if st := grpcwire.StatusFromTrailers(metadata.MD{}); st.Code() != codes.Internal {
		t.Errorf("no grpc-status = %v; want Internal", st)
	}
	if st := grpcwire.StatusFromTrailers(metadata.MD{"grpc-status": {"abc"}}); st.Code() != codes.Internal {
		t.Errorf("malformed grpc-status = %v; want Internal", st)
	}
}

func TestTimeout(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, 1500 * time.Microsecond, time.Second, 90 * time.Minute, 200_000 * time.Hour} {
		s := grpcwire.EncodeTimeout(d)
		if len(s) > 9 {
			t.Errorf("EncodeTimeout(%v) = %q: more than 8 digits", d, s)
		}
		back, err := grpcwire.DecodeTimeout(s)
		if err != nil || back < d {
			t.Errorf("DecodeTimeout(EncodeTimeout(%v)=%q) = %v, %v; want >= %v", d, s, back, err, d)
		}
	}
	for _, bad := range []string{"", "5", "5x", "123456789S", "-5S", "S"} {
		if _, err := grpcwire.DecodeTimeout(bad); err == nil {
			t.Errorf("DecodeTimeout(%q) succeeded", bad)
		}
	}
}
