package server_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// muxRaw is a grpc-mux.v1 client that writes frames by hand, built from
// grpcwire's codec: what the real client would never send, and a reader
// of the server's frames one by one.
type muxRaw struct {
	t    *testing.T
	ws   *websocket.Conn
	r    *grpcwire.MuxReader
	peer grpcwire.MuxSettings // the server's SETTINGS
	msg  io.Reader            // the message being read
}

// muxRawClientSettings are what the raw client announces.
var muxRawClientSettings = grpcwire.MuxSettings{InitialWindow: 64 << 10, MaxFrameSize: 16 << 10, MaxHeaderSize: 64 << 10}

// muxRawDial opens a socket and exchanges SETTINGS.
func muxRawDial(t *testing.T, addr string) *muxRaw {
	t.Helper()
	c := muxRawOpen(t, addr, nil)
	c.write(grpcwire.AppendMuxSettings(nil, muxRawClientSettings))
	f := c.next()
	if f.Type != grpcwire.MuxTypeSettings {
		t.Fatalf("first frame %v; want SETTINGS", f.Type)
	}
	c.peer = f.Settings()
	return c
}

// muxRawOpen opens a socket and sends nothing.
func muxRawOpen(t *testing.T, addr string, h http.Header) *muxRaw {
	t.Helper()
	ws, err := muxHandshake(addr, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return &muxRaw{t: t, ws: ws, r: grpcwire.NewMuxClientReader(nil, muxRawClientSettings)}
}

func muxHandshake(addr string, h http.Header) (*websocket.Conn, error) {
	d := websocket.Dialer{Subprotocols: []string{grpcwire.MuxProtocol}, HandshakeTimeout: 10 * time.Second}
	ws, resp, err := d.Dial("ws://"+addr+grpcwire.MuxPath, h)
	if err == nil && resp.Header.Get("Sec-Websocket-Protocol") != grpcwire.MuxProtocol {
		ws.Close()
		return nil, io.ErrUnexpectedEOF
	}
	return ws, err
}

// write sends frames as one message.
func (c *muxRaw) write(frames ...[]byte) {
	c.t.Helper()
	c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if err := c.ws.WriteMessage(websocket.BinaryMessage, bytes.Join(frames, nil)); err != nil {
		c.t.Fatal(err)
	}
}

// open returns the HEADERS opening stream id with a call of method.
func muxOpenFrame(t *testing.T, id uint32, method string, end bool) []byte {
	t.Helper()
	md := metadata.MD{grpcwire.HeaderContentType: {grpcwire.ContentTypeProto}}
	b, err := grpcwire.AppendMuxOpen(nil, id, method, md, end, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// muxDataFrame returns DATA carrying m on stream id.
func muxDataFrame(t *testing.T, id uint32, m proto.Message, end bool) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var flags byte
	if end {
		flags = grpcwire.MuxFlagEndStream
	}
	return grpcwire.AppendMuxFrame(nil, grpcwire.MuxTypeData, flags, id, grpcwire.AppendFrame(nil, grpcwire.FlagData, b))
}

// nextErr returns the server's next frame (its payload copied), or why
// there is none.
func (c *muxRaw) nextErr() (grpcwire.MuxFrame, error) {
	c.ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if c.msg == nil {
			typ, msg, err := c.ws.NextReader()
			if err != nil {
				return grpcwire.MuxFrame{}, err
			}
			if typ != websocket.BinaryMessage {
				c.t.Fatalf("a message of type %d from the server", typ)
			}
			c.msg = msg
			c.r.Reset(msg)
		}
		f, err := c.r.Next()
		if err == io.EOF {
			c.msg = nil
			continue
		}
		if err != nil {
			return f, err
		}
		f.Payload = bytes.Clone(f.Payload)
		return f, nil
	}
}

func (c *muxRaw) next() grpcwire.MuxFrame {
	c.t.Helper()
	f, err := c.nextErr()
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

// wantGoAway reads until a GOAWAY, which must carry code and a message
// containing msg, and then the close, with closeCode.
func (c *muxRaw) wantGoAway(code codes.Code, msg string, closeCode int) {
	c.t.Helper()
	for {
		f, err := c.nextErr()
		if err != nil {
			c.t.Fatalf("no GOAWAY: %v", err)
		}
		if f.Type != grpcwire.MuxTypeGoAway {
			continue
		}
		_, st := f.GoAway()
		if st.Code() != code || !bytes.Contains([]byte(st.Message()), []byte(msg)) {
			c.t.Fatalf("GOAWAY %v %q; want %v with %q", st.Code(), st.Message(), code, msg)
		}
		break
	}
	_, err := c.nextErr()
	if !websocket.IsCloseError(err, closeCode) {
		c.t.Fatalf("after the GOAWAY: %v; want close code %d", err, closeCode)
	}
}

// wantEnd reads stream id's frames until its TRAILERS or CANCEL and
// returns its status and the messages it carried.
func (c *muxRaw) wantEnd(id uint32) (*grpcstatus.Status, [][]byte) {
	c.t.Helper()
	var data []byte
	for {
		f := c.next()
		if f.Stream != id {
			continue
		}
		switch f.Type {
		case grpcwire.MuxTypeData:
			data = append(data, f.Payload...)
			// A raw client reads all: give the window back.
			c.write(grpcwire.AppendMuxWindowUpdate(nil, id, uint32(len(f.Payload))))
		case grpcwire.MuxTypeCancel:
			return f.Status(), nil
		case grpcwire.MuxTypeTrailers:
			md, err := grpcwire.ParseHeaderBlock(f.Payload)
			if err != nil {
				c.t.Fatal(err)
			}
			var msgs [][]byte
			r := grpcwire.NewResponseReader(bytes.NewReader(data), 4<<20)
			for {
				fr, err := r.Next()
				if err != nil {
					break
				}
				msgs = append(msgs, bytes.Clone(fr.Payload))
			}
			return grpcwire.StatusFromTrailers(md), msgs
		}
	}
}
