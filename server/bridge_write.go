package server

import (
	"encoding/binary"
	"net"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// wsWriter writes every WebSocket frame of a bridged stream itself: data,
// pings, pongs and the close. gorilla reads the socket, but after the
// handshake writes nothing on it (the stream sets its ping and close
// handlers to answer through here), so one mutex orders all writes, and the
// frames of one reply go out in one write: each gRPC frame cut into a
// prefix message and a payload message, as the reference server cuts it,
// at the cost of one system call, not two. Server frames are not masked
// (RFC 6455, section 5.1).
type wsWriter struct {
	conn    net.Conn
	timeout time.Duration
	bufs    *sync.Pool // *[]byte, shared by the bridge's streams

	mu sync.Mutex
}

// WebSocket opcodes, with the FIN bit: every frame is a whole message.
const (
	wsFinBinary = 0x80 | websocket.BinaryMessage
	wsFinClose  = 0x80 | websocket.CloseMessage
	wsFinPing   = 0x80 | websocket.PingMessage
	wsFinPong   = 0x80 | websocket.PongMessage
)

// appendWSFrame appends a whole WebSocket frame with payload.
func appendWSFrame(b []byte, op byte, payload []byte) []byte {
	b = append(b, op)
	switch n := len(payload); {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
	return append(b, payload...)
}

// writeGRPC writes whole gRPC frames as binary messages, each prefix in a
// message of its own and its payload, if any, in the next.
func (w *wsWriter) writeGRPC(frames []byte) error {
	buf := w.getBuf()
	defer w.putBuf(buf)
	b := *buf
	for len(frames) >= grpcwire.PrefixLen {
		n := grpcwire.PrefixLen + int(binary.BigEndian.Uint32(frames[1:grpcwire.PrefixLen]))
		b = appendWSFrame(b, wsFinBinary, frames[:grpcwire.PrefixLen])
		if n > grpcwire.PrefixLen {
			b = appendWSFrame(b, wsFinBinary, frames[grpcwire.PrefixLen:n])
		}
		frames = frames[n:]
	}
	*buf = b
	return w.write(b)
}

// control writes a control frame: a ping, a pong or a close.
func (w *wsWriter) control(op byte, payload []byte) error {
	var b [2 + 125]byte
	return w.write(appendWSFrame(b[:0], op, payload))
}

// write writes b within the write timeout.
func (w *wsWriter) write(b []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.conn.SetWriteDeadline(time.Now().Add(w.timeout))
	if _, err := w.conn.Write(b); err != nil {
		return writeError(err)
	}
	return nil
}

func (w *wsWriter) getBuf() *[]byte {
	if p, ok := w.bufs.Get().(*[]byte); ok {
		return p
	}
	p := make([]byte, 0, 512)
	return &p
}

// putBuf keeps buffers of up to 64 KiB for the next write, of any stream.
func (w *wsWriter) putBuf(p *[]byte) {
	if cap(*p) > 64<<10 {
		return
	}
	*p = (*p)[:0]
	w.bufs.Put(p)
}
