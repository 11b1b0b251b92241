package grpcwire_test

import (
	"bytes"
	"io"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// fuzzSettings are the reader's own limits in the fuzz test: small, so
// that the fuzzer reaches them.
var fuzzSettings = grpcwire.MuxSettings{InitialWindow: 1 << 10, MaxFrameSize: 1 << 10, MaxHeaderSize: 2 << 10, MaxStreams: 8}

// muxSeeds are whole conversations, each side's, for the corpus.
func muxSeeds() [][]byte {
	md := metadata.MD{"x-text": {"v"}, "x-raw-bin": {"\x00\x01"}, "grpc-timeout": {"1S"}}
	msg := grpcwire.AppendFrame(nil, grpcwire.FlagData, []byte("hello"))
	client := grpcwire.AppendMuxSettings(nil, grpcwire.MuxSettings{InitialWindow: 1 << 16, MaxFrameSize: 1 << 14, MaxHeaderSize: 1 << 16})
	client, _ = grpcwire.AppendMuxOpen(client, 1, "/pkg.Svc/Method", md, false, 1<<10)
	client = grpcwire.AppendMuxFrame(client, grpcwire.MuxTypeData, 0, 1, msg[:3])
	client = grpcwire.AppendMuxFrame(client, grpcwire.MuxTypeData, grpcwire.MuxFlagEndStream, 1, msg[3:])
	client = grpcwire.AppendMuxWindowUpdate(client, 1, 512)
	client = grpcwire.AppendMuxPing(client, false, [8]byte{1})
	client = grpcwire.AppendMuxCancel(client, 1, grpcstatus.New(codes.Canceled, "gone"))
	client = grpcwire.AppendMuxGoAway(client, 0, grpcstatus.New(codes.Internal, "bad"))

	tr := metadata.MD{}
	grpcwire.AppendStatus(tr, grpcstatus.New(codes.OK, ""))
	server := grpcwire.AppendMuxSettings(nil, grpcwire.DefaultMuxSettings())
	server, _ = grpcwire.AppendMuxHeaderBlock(server, grpcwire.MuxTypeHeaders, 1, md, 1<<10)
	server = grpcwire.AppendMuxFrame(server, grpcwire.MuxTypeData, 0, 1, msg)
	server, _ = grpcwire.AppendMuxHeaderBlock(server, grpcwire.MuxTypeTrailers, 1, tr, 1<<10)
	server = grpcwire.AppendMuxPing(server, true, [8]byte{1})
	server = grpcwire.AppendMuxGoAway(server, 1, grpcstatus.New(codes.OK, ""))
	return [][]byte{client, server, settingsFrame, cat(settingsFrame, header(1<<20, grpcwire.MuxTypeData, 0, 1))}
}

// FuzzMuxReader reads arbitrary bytes as either side's frames, as one
// stream or as one WebSocket message. It must never panic nor allocate
// beyond its limits; every frame it returns keeps the limits, and encodes
// back to exactly the bytes it was read from; the accessors and payload
// parsers take any frame it returns; and every refusal is a status with
// the reader's codes.
func FuzzMuxReader(f *testing.F) {
	for _, seed := range muxSeeds() {
		for _, mode := range []byte{0, 1, 2, 3} {
			f.Add(seed, mode)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte, mode byte) {
		fromClient, message := mode&1 != 0, mode&2 != 0
		src := bytes.NewReader(in)
		r, malformed := grpcwire.NewMuxClientReader(src, fuzzSettings), codes.Internal
		if fromClient {
			r, malformed = grpcwire.NewMuxServerReader(src, fuzzSettings), codes.InvalidArgument
		}
		if message {
			r.Reset(src)
		}
		off := 0
		for i := 0; ; i++ {
			fr, err := r.Next()
			if err == io.EOF {
				if off != len(in) {
					t.Fatalf("io.EOF at %d of %d bytes", off, len(in))
				}
				return
			}
			if err != nil {
				st, ok := grpcstatus.FromError(err)
				if !ok || (st.Code() != malformed && st.Code() != codes.ResourceExhausted) {
					t.Fatalf("error %v is neither %v nor ResourceExhausted", err, malformed)
				}
				return
			}
			n := len(fr.Payload)
			switch fr.Type {
			case grpcwire.MuxTypeData:
				if n > int(fuzzSettings.MaxFrameSize) {
					t.Fatalf("DATA of %d bytes", n)
				}
			case grpcwire.MuxTypeHeaders, grpcwire.MuxTypeTrailers:
				if n > int(fuzzSettings.MaxHeaderSize) {
					t.Fatalf("%v of %d bytes", fr.Type, n)
				}
				if fromClient {
					grpcwire.ParseMuxOpen(fr.Payload)
				} else {
					grpcwire.ParseHeaderBlock(fr.Payload)
				}
			case grpcwire.MuxTypeCancel:
				if fr.Status().Code() == codes.OK {
					t.Fatal("a CANCEL with code OK")
				}
			case grpcwire.MuxTypeGoAway:
				fr.GoAway()
			case grpcwire.MuxTypeWindowUpdate:
				if inc := fr.Increment(); inc == 0 || inc > grpcwire.MuxMaxWindow {
					t.Fatalf("WINDOW_UPDATE of %d", inc)
				}
			case grpcwire.MuxTypeSettings:
				if i != 0 {
					t.Fatalf("SETTINGS as frame %d", i)
				}
				if err := fr.Settings().Validate(); err != nil {
					t.Fatalf("settings returned out of range: %v", err)
				}
			case grpcwire.MuxTypePing:
				fr.PingData()
			default:
				t.Fatalf("frame of unknown type %v", fr.Type)
			}
			if i == 0 && fr.Type != grpcwire.MuxTypeSettings {
				t.Fatalf("first frame %v", fr.Type)
			}
			if fr.Stream > grpcwire.MuxMaxStreamID {
				t.Fatalf("stream id %d", fr.Stream)
			}
			end := off + grpcwire.MuxHeaderLen + n
			if again := grpcwire.AppendMuxFrame(nil, fr.Type, fr.Flags, fr.Stream, fr.Payload); !bytes.Equal(again, in[off:end]) {
				t.Fatalf("frame %d encodes as %x; it was read from %x", i, again, in[off:end])
			}
			off = end
		}
	})
}
