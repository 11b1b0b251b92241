package grpcwire_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// settingsFrame is the SETTINGS every sequence must start with.
var settingsFrame = grpcwire.AppendMuxSettings(nil, grpcwire.DefaultMuxSettings())

func readAll(t *testing.T, r *grpcwire.MuxReader) []grpcwire.MuxFrame {
	t.Helper()
	var out []grpcwire.MuxFrame
	for {
		f, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("frame %d: %v", len(out), err)
		}
		f.Payload = bytes.Clone(f.Payload)
		out = append(out, f)
	}
}

// TestMuxRoundTrip writes every frame type each side sends and reads it
// back with the other side's reader.
func TestMuxRoundTrip(t *testing.T) {
	own := grpcwire.MuxSettings{InitialWindow: 1 << 20, MaxFrameSize: 32 << 10, MaxHeaderSize: 8 << 10, MaxStreams: 0}
	md := metadata.MD{"x-text": {"a", "b"}, "x-raw-bin": {"\x00\xff"}, grpcwire.HeaderTimeout: {"5S"}}
	ping := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}

	// What a client sends.
	b := grpcwire.AppendMuxSettings(nil, own)
	b, err := grpcwire.AppendMuxOpen(b, 1, "/pkg.Svc/Method", md, false, 1<<10)
	if err != nil {
		t.Fatal(err)
	}
	msg := grpcwire.AppendFrame(nil, grpcwire.FlagData, []byte("hello"))
	b = grpcwire.AppendMuxFrame(b, grpcwire.MuxTypeData, 0, 1, msg)
	b = grpcwire.AppendMuxFrame(b, grpcwire.MuxTypeData, grpcwire.MuxFlagEndStream, 1, nil)
	b, _ = grpcwire.AppendMuxOpen(b, 3, "/pkg.Svc/Other", nil, true, 1<<10)
	b = grpcwire.AppendMuxWindowUpdate(b, 3, 1000)
	b = grpcwire.AppendMuxCancel(b, 3, grpcstatus.New(codes.Canceled, "user left"))
	b = grpcwire.AppendMuxPing(b, false, ping)
	b = grpcwire.AppendMuxGoAway(b, 3, grpcstatus.New(codes.Internal, "bad trailers"))

	frames := readAll(t, grpcwire.NewMuxServerReader(bytes.NewReader(b), grpcwire.DefaultMuxSettings()))
	if len(frames) != 9 {
		t.Fatalf("%d frames, want 9", len(frames))
	}
	if got := frames[0].Settings(); got != own {
		t.Errorf("settings = %+v, want %+v", got, own)
	}
	method, gotMD, err := grpcwire.ParseMuxOpen(frames[1].Payload)
	if err != nil || method != "/pkg.Svc/Method" || grpcwire.First(gotMD, "x-raw-bin") != "\x00\xff" || len(gotMD["x-text"]) != 2 || frames[1].EndStream() {
		t.Errorf("open = %q %v %v, end %v", method, gotMD, err, frames[1].EndStream())
	}
	if f := frames[2]; f.Type != grpcwire.MuxTypeData || f.Stream != 1 || !bytes.Equal(f.Payload, msg) || f.EndStream() {
		t.Errorf("data = %+v", f)
	}
	if f := frames[3]; f.Type != grpcwire.MuxTypeData || len(f.Payload) != 0 || !f.EndStream() {
		t.Errorf("half-close = %+v", f)
	}
	if f := frames[4]; f.Type != grpcwire.MuxTypeHeaders || f.Stream != 3 || !f.EndStream() {
		t.Errorf("open and half-close = %+v", f)
	}
	if f := frames[5]; f.Type != grpcwire.MuxTypeWindowUpdate || f.Increment() != 1000 {
		t.Errorf("window update = %+v", f)
	}
	if st := frames[6].Status(); st.Code() != codes.Canceled || st.Message() != "user left" {
		t.Errorf("cancel = %v", st)
	}
	if f := frames[7]; f.Type != grpcwire.MuxTypePing || f.Ack() || f.PingData() != ping {
		t.Errorf("ping = %+v", f)
	}
	if last, st := frames[8].GoAway(); last != 3 || st.Code() != codes.Internal || st.Message() != "bad trailers" {
		t.Errorf("goaway = %d %v", last, st)
	}

	// What a server sends.
	b = grpcwire.AppendMuxSettings(nil, grpcwire.MuxSettings{InitialWindow: 1 << 10, MaxFrameSize: 1 << 10, MaxHeaderSize: 1 << 10, MaxStreams: 7})
	b, _ = grpcwire.AppendMuxHeaderBlock(b, grpcwire.MuxTypeHeaders, 1, metadata.MD{"x-h": {"1"}}, 1<<10)
	b = grpcwire.AppendMuxFrame(b, grpcwire.MuxTypeData, 0, 1, msg)
	tr := metadata.MD{}
	grpcwire.AppendStatus(tr, grpcstatus.New(codes.NotFound, "no such user"))
	b, _ = grpcwire.AppendMuxHeaderBlock(b, grpcwire.MuxTypeTrailers, 1, tr, 1<<10)
	b = grpcwire.AppendMuxPing(b, true, ping)
	frames = readAll(t, grpcwire.NewMuxClientReader(bytes.NewReader(b), own))
	if len(frames) != 5 || frames[0].Settings().MaxStreams != 7 {
		t.Fatalf("frames = %+v", frames)
	}
	if h, err := grpcwire.ParseHeaderBlock(frames[1].Payload); err != nil || grpcwire.First(h, "x-h") != "1" {
		t.Errorf("headers = %v, %v", h, err)
	}
	if h, _ := grpcwire.ParseHeaderBlock(frames[3].Payload); frames[3].Type != grpcwire.MuxTypeTrailers || grpcwire.StatusFromTrailers(h).Code() != codes.NotFound {
		t.Errorf("trailers = %+v", frames[3])
	}
	if !frames[4].Ack() || frames[4].PingData() != ping {
		t.Errorf("pong = %+v", frames[4])
	}
}

// TestMuxSettingsDefaults: a SETTINGS frame that leaves settings out, or
// names unknown ones, means the defaults for those.
func TestMuxSettingsDefaults(t *testing.T) {
	p := binary.BigEndian.AppendUint16(nil, 4) // MAX_STREAMS
	p = binary.BigEndian.AppendUint32(p, 3)
	p = binary.BigEndian.AppendUint16(p, 0x99) // unknown
	p = binary.BigEndian.AppendUint32(p, 1)
	b := grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeSettings, 0, 0, p)
	f := readAll(t, grpcwire.NewMuxClientReader(bytes.NewReader(b), grpcwire.DefaultMuxSettings()))[0]
	want := grpcwire.DefaultMuxSettings()
	want.MaxStreams = 3
	if got := f.Settings(); got != want {
		t.Errorf("settings = %+v, want %+v", got, want)
	}
	if err := want.Validate(); err != nil {
		t.Errorf("defaults do not validate: %v", err)
	}
	bad := want
	bad.MaxFrameSize = 100
	if grpcstatus.Code(bad.Validate()) != codes.InvalidArgument {
		t.Errorf("MaxFrameSize 100 validates")
	}
}

// header builds a raw frame header.
func header(n int, typ grpcwire.MuxType, flags byte, stream uint32) []byte {
	return grpcwire.AppendMuxHeader(nil, typ, flags, stream, n)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func settingPayload(id uint16, v uint32) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint16(nil, id), v)
}

// TestMuxReaderRefuses feeds each reader what the protocol forbids; every
// refusal is a status whose code names the side that broke it, or
// ResourceExhausted for a limit. Limits are checked on the header alone:
// those cases give the reader no payload, which it would otherwise report
// as a truncated frame.
func TestMuxReaderRefuses(t *testing.T) {
	s := settingsFrame
	u32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	malformed := codes.Code(999) // the reader's own: InvalidArgument or Internal
	for _, tc := range []struct {
		name   string
		in     []byte
		client bool // read as a client's frames (by the server)
		want   codes.Code
	}{
		{"first frame not SETTINGS", grpcwire.AppendMuxPing(nil, false, [8]byte{}), true, malformed},
		{"second SETTINGS", cat(s, s), false, malformed},
		{"unknown type", cat(s, header(0, 0x8, 0, 1)), true, malformed},
		{"reserved bit", cat(s, header(4, grpcwire.MuxTypeWindowUpdate, 0, 1<<31|1), u32(1)), true, malformed},
		{"DATA on stream 0", cat(s, header(1, grpcwire.MuxTypeData, 0, 0), []byte{0}), true, malformed},
		{"PING on stream 1", cat(s, header(8, grpcwire.MuxTypePing, 0, 1), make([]byte, 8)), true, malformed},
		{"even stream", cat(s, header(1, grpcwire.MuxTypeData, 0, 2), []byte{0}), true, malformed},
		{"TRAILERS from a client", cat(s, header(0, grpcwire.MuxTypeTrailers, 0, 1)), true, malformed},
		{"END_STREAM from a server", cat(s, header(1, grpcwire.MuxTypeData, grpcwire.MuxFlagEndStream, 1), []byte{0}), false, malformed},
		{"undefined flag", cat(s, header(1, grpcwire.MuxTypeData, 0x4, 1), []byte{0}), true, malformed},
		{"ACK on a CANCEL", cat(s, header(4, grpcwire.MuxTypeCancel, grpcwire.MuxFlagAck, 1), u32(1)), true, malformed},
		{"empty DATA", cat(s, header(0, grpcwire.MuxTypeData, 0, 1)), true, malformed},
		{"empty DATA from a server", cat(s, header(0, grpcwire.MuxTypeData, 0, 1)), false, malformed},
		{"WINDOW_UPDATE of 3 bytes", cat(s, header(3, grpcwire.MuxTypeWindowUpdate, 0, 1), []byte{0, 0, 1}), true, malformed},
		{"WINDOW_UPDATE of 0", cat(s, header(4, grpcwire.MuxTypeWindowUpdate, 0, 1), u32(0)), true, malformed},
		{"negative WINDOW_UPDATE", cat(s, header(4, grpcwire.MuxTypeWindowUpdate, 0, 1), u32(1<<31)), true, malformed},
		{"PING of 7 bytes", cat(s, header(7, grpcwire.MuxTypePing, 0, 0), make([]byte, 7)), true, malformed},
		{"CANCEL of 3 bytes", cat(s, header(3, grpcwire.MuxTypeCancel, 0, 1), []byte{0, 0, 1}), true, malformed},
		{"CANCEL with code OK", cat(s, header(4, grpcwire.MuxTypeCancel, 0, 1), u32(0)), false, malformed},
		{"GOAWAY of 7 bytes", cat(s, header(7, grpcwire.MuxTypeGoAway, 0, 0), make([]byte, 7)), false, malformed},
		{"SETTINGS of 5 bytes", cat(header(5, grpcwire.MuxTypeSettings, 0, 0), make([]byte, 5)), false, malformed},
		{"INITIAL_WINDOW 0", cat(header(6, grpcwire.MuxTypeSettings, 0, 0), settingPayload(1, 0)), true, malformed},
		{"MAX_FRAME_SIZE 16 MiB", cat(header(6, grpcwire.MuxTypeSettings, 0, 0), settingPayload(2, 16<<20)), false, malformed},
		{"MAX_STREAMS 2^31", cat(header(6, grpcwire.MuxTypeSettings, 0, 0), settingPayload(4, 1<<31)), false, malformed},
		{"truncated header", cat(s, header(1, grpcwire.MuxTypeData, 0, 1)[:5]), true, malformed},
		{"truncated payload", cat(s, header(100, grpcwire.MuxTypeData, 0, 1), make([]byte, 50)), false, malformed},
		{"DATA over MAX_FRAME_SIZE", cat(s, header(16<<10+1, grpcwire.MuxTypeData, 0, 1)), true, codes.ResourceExhausted},
		{"DATA of 16 MiB", cat(s, header(1<<24-1, grpcwire.MuxTypeData, 0, 1)), false, codes.ResourceExhausted},
		{"HEADERS over MAX_HEADER_SIZE", cat(s, header(64<<10+1, grpcwire.MuxTypeHeaders, 0, 1)), true, codes.ResourceExhausted},
		{"TRAILERS over MAX_HEADER_SIZE", cat(s, header(64<<10+1, grpcwire.MuxTypeTrailers, 0, 1)), false, codes.ResourceExhausted},
		{"GOAWAY over 1 KiB", cat(s, header(1025, grpcwire.MuxTypeGoAway, 0, 0)), true, codes.ResourceExhausted},
		{"SETTINGS over 1 KiB", header(1026, grpcwire.MuxTypeSettings, 0, 0), true, codes.ResourceExhausted},
	} {
		r := grpcwire.NewMuxClientReader(bytes.NewReader(tc.in), grpcwire.DefaultMuxSettings())
		want := tc.want
		if want == malformed {
			want = codes.Internal
		}
		if tc.client {
			r = grpcwire.NewMuxServerReader(bytes.NewReader(tc.in), grpcwire.DefaultMuxSettings())
			if tc.want == malformed {
				want = codes.InvalidArgument
			}
		}
		var err error
		for err == nil {
			_, err = r.Next()
		}
		if st, ok := grpcstatus.FromError(err); !ok || st.Code() != want || !strings.HasPrefix(st.Message(), "grpc-mux: ") {
			t.Errorf("%s: %v; want a %v status", tc.name, err, want)
		}
	}
}

// TestMuxReaderMessages: after Reset, a reader reads one WebSocket message:
// io.EOF at its end, a frame that spans two messages or a batch over
// MuxMaxBatch refused.
func TestMuxReaderMessages(t *testing.T) {
	r := grpcwire.NewMuxServerReader(nil, grpcwire.MuxSettings{InitialWindow: 1 << 16, MaxFrameSize: 40 << 10, MaxHeaderSize: 1 << 10})
	r.Reset(bytes.NewReader(settingsFrame))
	if f, err := r.Next(); err != nil || f.Type != grpcwire.MuxTypeSettings {
		t.Fatalf("settings: %v %v", f, err)
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("end of message: %v", err)
	}
	big := grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeData, 0, 1, make([]byte, 40<<10))
	r.Reset(bytes.NewReader(big)) // one frame alone may be larger than a batch
	if _, err := r.Next(); err != nil {
		t.Fatalf("one big frame: %v", err)
	}
	r.Reset(bytes.NewReader(cat(big, big)))
	r.Next()
	if _, err := r.Next(); grpcstatus.Code(err) != codes.ResourceExhausted {
		t.Fatalf("two 40 KiB frames in a message: %v", err)
	}
	r.Reset(bytes.NewReader(big[:100]))
	if _, err := r.Next(); grpcstatus.Code(err) != codes.InvalidArgument {
		t.Fatalf("a frame cut by the message's end: %v", err)
	}
}

func TestMuxOpen(t *testing.T) {
	md := metadata.MD{"x-big": {strings.Repeat("v", 2000)}}
	b := []byte("before")
	out, err := grpcwire.AppendMuxOpen(b, 1, "/a.B/C", md, false, 1<<10)
	if grpcstatus.Code(err) != codes.ResourceExhausted || string(out) != "before" {
		t.Errorf("over the limit: %q, %v; want the input back and ResourceExhausted", out, err)
	}
	if _, err := grpcwire.AppendMuxOpen(nil, 1, "no-slash", nil, false, 1<<10); grpcstatus.Code(err) != codes.InvalidArgument {
		t.Errorf("bad method: %v", err)
	}
	for _, p := range []string{"/a.B/C", "/a.B/C\r\nx y: z\r\n", "\r\n", "/a b/C\r\n", "/a.B/C\r\nbad-bin: !!\r\n"} {
		if _, _, err := grpcwire.ParseMuxOpen([]byte(p)); grpcstatus.Code(err) != codes.InvalidArgument {
			t.Errorf("ParseMuxOpen(%q) = %v; want InvalidArgument", p, err)
		}
	}
	if m, md, err := grpcwire.ParseMuxOpen([]byte("/a.B/C\r\n")); err != nil || m != "/a.B/C" || len(md) != 0 {
		t.Errorf("no metadata: %q %v %v", m, md, err)
	}
}

// TestMuxControlText: a CANCEL's or GOAWAY's message is cut to fit its
// frame, at a rune boundary.
func TestMuxControlText(t *testing.T) {
	long := strings.Repeat("é", 1000) // 2,000 bytes
	b := cat(settingsFrame,
		grpcwire.AppendMuxCancel(nil, 1, grpcstatus.New(codes.Internal, long)),
		grpcwire.AppendMuxGoAway(nil, 1, grpcstatus.New(codes.Internal, long)))
	frames := readAll(t, grpcwire.NewMuxServerReader(bytes.NewReader(b), grpcwire.DefaultMuxSettings()))
	for _, msg := range []string{frames[1].Status().Message(), func() string { _, st := frames[2].GoAway(); return st.Message() }()} {
		if !utf8.ValidString(msg) || !strings.HasPrefix(long, msg) || len(msg) < 1000 {
			t.Errorf("message of %d bytes, valid %v", len(msg), utf8.ValidString(msg))
		}
	}
	// A code beyond gRPC's reads as Unknown.
	p := binary.BigEndian.AppendUint32(nil, 99)
	f := readAll(t, grpcwire.NewMuxClientReader(bytes.NewReader(cat(settingsFrame, grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeCancel, 0, 1, p))), grpcwire.DefaultMuxSettings()))[1]
	if f.Status().Code() != codes.Unknown {
		t.Errorf("code 99 = %v", f.Status().Code())
	}
}

// TestWriteMuxMessages: frames are grouped into messages of at most
// MuxMaxBatch bytes, never cut, and a frame bigger than that goes alone.
func TestWriteMuxMessages(t *testing.T) {
	var b []byte
	sizes := []int{10, grpcwire.MuxMaxBatch / 2, grpcwire.MuxMaxBatch / 2, 3 * grpcwire.MuxMaxBatch, 0, 7}
	for i, n := range sizes {
		b = grpcwire.AppendMuxFrame(b, grpcwire.MuxTypeData, 0, uint32(2*i+1), make([]byte, n))
	}
	var msgs [][]byte
	if err := grpcwire.WriteMuxMessages(b, func(m []byte) error { msgs = append(msgs, m); return nil }); err != nil {
		t.Fatal(err)
	}
	var frames []int
	for _, m := range msgs {
		size, in := len(m), 0
		for len(m) > 0 {
			if len(m) < grpcwire.MuxHeaderLen {
				t.Fatalf("a message ends inside a frame header")
			}
			n := int(m[0])<<16 | int(m[1])<<8 | int(m[2])
			if len(m) < grpcwire.MuxHeaderLen+n {
				t.Fatalf("a message ends inside a frame")
			}
			frames = append(frames, n)
			m = m[grpcwire.MuxHeaderLen+n:]
			in++
		}
		if size > grpcwire.MuxMaxBatch && in != 1 {
			t.Fatalf("a message of %d bytes holds %d frames", size, in)
		}
	}
	if fmt.Sprint(frames) != fmt.Sprint(sizes) {
		t.Fatalf("frames read back %v; want %v", frames, sizes)
	}
	if len(msgs) != 4 {
		t.Fatalf("%d messages; want 4 (10+half, half, the big one, 0+7)", len(msgs))
	}
}
