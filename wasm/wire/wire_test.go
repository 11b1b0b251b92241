package wire_test

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"testing/iotest"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/wasm/wire"
)

func TestReaderAcrossSplitReads(t *testing.T) {
	var stream []byte
	stream = wire.AppendFrame(stream, wire.FlagData, []byte("hello"))
	stream = wire.AppendFrame(stream, wire.FlagData, nil)
	stream = wire.AppendFrame(stream, wire.FlagTrailer, []byte("grpc-status: 0\r\n"))
	for name, r := range map[string]io.Reader{
		"whole":     bytes.NewReader(stream),
		"one byte":  iotest.OneByteReader(bytes.NewReader(stream)),
		"half":      iotest.HalfReader(bytes.NewReader(stream)),
		"data+EOF ": iotest.DataErrReader(bytes.NewReader(stream)),
	} {
		fr := wire.NewReader(r, 64)
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
	full := wire.AppendFrame(nil, wire.FlagData, []byte("0123456789"))
	tests := []struct {
		name   string
		stream []byte
		max    int
		want   error
	}{
		{"truncated payload", full[:8], 64, io.ErrUnexpectedEOF},
		{"truncated prefix", full[:3], 64, io.ErrUnexpectedEOF},
		{"over the limit", full, 9, wire.ErrFrameTooLarge},
		{"announces 4 GiB", []byte{0, 0xff, 0xff, 0xff, 0xff}, 1 << 20, wire.ErrFrameTooLarge},
	}
	for _, tc := range tests {
		_, err := wire.NewReader(bytes.NewReader(tc.stream), tc.max).Next()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v; want %v", tc.name, err, tc.want)
		}
	}
}

func TestHeaderBlockRoundTrip(t *testing.T) {
	md := wire.MD{
		"Authorization": {"Bearer x"},
		"trace-bin":     {"\x00\x01\xff"},
		"multi":         {"a", "b"},
		"bad":           {"line\r\nbreak"},
	}
	got, err := wire.ParseHeaderBlock(wire.AppendHeaderBlock(nil, md))
	if err != nil {
		t.Fatal(err)
	}
	if got.Get("authorization") != "Bearer x" || got.Get("trace-bin") != "\x00\x01\xff" || len(got["multi"]) != 2 {
		t.Fatalf("round trip = %q", got)
	}
	if _, ok := got["bad"]; ok {
		t.Fatal("a value with CRLF was written into the block")
	}
	for _, bad := range []string{"no colon here\r\n", ": empty name\r\n", "sp ace: x\r\n"} {
		if _, err := wire.ParseHeaderBlock([]byte(bad)); err == nil {
			t.Errorf("ParseHeaderBlock(%q) succeeded", bad)
		}
	}
}

func TestStatusRoundTrip(t *testing.T) {
	for _, st := range []*status.Status{
		status.New(codes.OK, ""),
		status.New(codes.InvalidArgument, "id: must be greater than 0"),
		status.New(codes.Internal, "100% broken\nnext line, ünïcode"),
	} {
		md := wire.MD{}
		wire.AppendStatus(md, st)
		// Through a header block, as the wire carries it.
		parsed, err := wire.ParseHeaderBlock(wire.AppendHeaderBlock(nil, md))
		if err != nil {
			t.Fatal(err)
		}
		got := wire.StatusFromTrailers(parsed)
		if got.Code() != st.Code() || got.Message() != st.Message() {
			t.Errorf("round trip of %v = %v", st, got)
		}
	}
	if st := wire.StatusFromTrailers(wire.MD{}); st.Code() != codes.Internal {
		t.Errorf("no grpc-status = %v; want Internal", st)
	}
	if st := wire.StatusFromTrailers(wire.MD{"grpc-status": {"abc"}}); st.Code() != codes.Internal {
		t.Errorf("malformed grpc-status = %v; want Internal", st)
	}
}

func TestTimeout(t *testing.T) {
	for _, d := range []time.Duration{time.Nanosecond, 1500 * time.Microsecond, time.Second, 90 * time.Minute, 200_000 * time.Hour} {
		s := wire.EncodeTimeout(d)
		if len(s) > 9 {
			t.Errorf("EncodeTimeout(%v) = %q: more than 8 digits", d, s)
		}
		back, err := wire.DecodeTimeout(s)
		if err != nil || back < d {
			t.Errorf("DecodeTimeout(EncodeTimeout(%v)=%q) = %v, %v; want >= %v", d, s, back, err, d)
		}
	}
	for _, bad := range []string{"", "5", "5x", "123456789S", "-5S", "S"} {
		if _, err := wire.DecodeTimeout(bad); err == nil {
			t.Errorf("DecodeTimeout(%q) succeeded", bad)
		}
	}
}
