package grpcwire

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/grpcplay/playground/proto/grpcstatus"
)

// The grpc-mux.v1 protocol carries many calls on one WebSocket; MUX.md in
// this directory is its specification. This file is its frames: their
// encoding, and a reader that checks every frame against the limits and
// rules a single frame can break before it hands it on. What needs the
// state of the connection (which streams are open, their windows) is the
// caller's; MuxSendWindow and MuxRecvWindow (mux_flow.go) do the window
// accounting.

// The socket.
const (
	// MuxProtocol is the WebSocket subprotocol.
	MuxProtocol = "grpc-mux.v1"
	// MuxPath is where, under the server's URL, a client opens the socket.
	MuxPath = "/grpc-mux"
	// MuxMaxBatch bounds a WebSocket message that holds several frames; a
	// message of a single frame may be as large as that frame.
	MuxMaxBatch = 64 << 10
)

// MuxType is a frame's type.
type MuxType uint8

// The frame types.
const (
	MuxTypeData         MuxType = 0x0
	MuxTypeHeaders      MuxType = 0x1
	MuxTypeTrailers     MuxType = 0x2
	MuxTypeCancel       MuxType = 0x3
	MuxTypeWindowUpdate MuxType = 0x4
	MuxTypeSettings     MuxType = 0x5
	MuxTypePing         MuxType = 0x6
	MuxTypeGoAway       MuxType = 0x7
)

var muxTypeNames = [...]string{"DATA", "HEADERS", "TRAILERS", "CANCEL", "WINDOW_UPDATE", "SETTINGS", "PING", "GOAWAY"}

func (t MuxType) String() string {
	if int(t) < len(muxTypeNames) {
		return muxTypeNames[t]
	}
	return fmt.Sprintf("type 0x%02x", uint8(t))
}

// Frame flags.
const (
	// MuxFlagEndStream, on a client's DATA or HEADERS, half-closes the stream.
	MuxFlagEndStream byte = 0x1
	// MuxFlagAck marks a PING that answers one.
	MuxFlagAck byte = 0x1
)

// Sizes and ranges.
const (
	// MuxHeaderLen is the size of a frame's header.
	MuxHeaderLen = 9
	// MuxMaxStreamID is the largest stream id; the high bit is reserved.
	MuxMaxStreamID = 1<<31 - 1
	// MuxMaxWindow is the largest a window may grow.
	MuxMaxWindow = 1<<31 - 1
	// MuxMaxControlPayload bounds a CANCEL, SETTINGS or GOAWAY payload.
	MuxMaxControlPayload = 1024
	// muxMinLimit and muxMaxLimit bound MAX_FRAME_SIZE and MAX_HEADER_SIZE,
	// and muxMinLimit INITIAL_WINDOW.
	muxMinLimit = 1 << 10
	muxMaxLimit = 1 << 20
)

// Setting ids.
const (
	muxSettingInitialWindow uint16 = 1
	muxSettingMaxFrameSize  uint16 = 2
	muxSettingMaxHeaderSize uint16 = 3
	muxSettingMaxStreams    uint16 = 4
)

// MuxSettings is what one side accepts, which it announces in its SETTINGS
// frame: the limits its peer must keep to.
type MuxSettings struct {
	// InitialWindow is how many DATA bytes the peer may send on a new
	// stream before a WINDOW_UPDATE.
	InitialWindow uint32
	// MaxFrameSize bounds a DATA payload.
	MaxFrameSize uint32
	// MaxHeaderSize bounds a HEADERS or TRAILERS payload.
	MaxHeaderSize uint32
	// MaxStreams bounds the streams open at once; a client announces 0.
	MaxStreams uint32
}

// DefaultMuxSettings returns what a setting left out of SETTINGS means.
func DefaultMuxSettings() MuxSettings {
	return MuxSettings{InitialWindow: 64 << 10, MaxFrameSize: 16 << 10, MaxHeaderSize: 64 << 10, MaxStreams: 100}
}

// Validate reports a setting out of its range, as an InvalidArgument
// status: a side checks its own settings with it before it announces them.
func (s MuxSettings) Validate() error {
	return s.check(codes.InvalidArgument)
}

func (s MuxSettings) check(code codes.Code) error {
	switch {
	case s.InitialWindow < muxMinLimit || s.InitialWindow > MuxMaxWindow:
		return grpcstatus.Errorf(code, "grpc-mux: INITIAL_WINDOW %d is outside %d to %d", s.InitialWindow, muxMinLimit, MuxMaxWindow)
	case s.MaxFrameSize < muxMinLimit || s.MaxFrameSize > muxMaxLimit:
		return grpcstatus.Errorf(code, "grpc-mux: MAX_FRAME_SIZE %d is outside %d to %d", s.MaxFrameSize, muxMinLimit, muxMaxLimit)
	case s.MaxHeaderSize < muxMinLimit || s.MaxHeaderSize > muxMaxLimit:
		return grpcstatus.Errorf(code, "grpc-mux: MAX_HEADER_SIZE %d is outside %d to %d", s.MaxHeaderSize, muxMinLimit, muxMaxLimit)
	case s.MaxStreams > MuxMaxStreamID:
		return grpcstatus.Errorf(code, "grpc-mux: MAX_STREAMS %d is over %d", s.MaxStreams, MuxMaxStreamID)
	}
	return nil
}

// MuxFrame is one frame. Payload is valid until the reader's next call.
type MuxFrame struct {
	Type    MuxType
	Flags   byte
	Stream  uint32
	Payload []byte
}

// EndStream reports whether a DATA or HEADERS frame half-closes its stream.
func (f MuxFrame) EndStream() bool {
	return (f.Type == MuxTypeData || f.Type == MuxTypeHeaders) && f.Flags&MuxFlagEndStream != 0
}

// Ack reports whether a PING frame answers one.
func (f MuxFrame) Ack() bool { return f.Type == MuxTypePing && f.Flags&MuxFlagAck != 0 }

// The accessors below decode the payload of a frame a MuxReader returned,
// which has checked its size and values.

// Increment returns a WINDOW_UPDATE's increment.
func (f MuxFrame) Increment() uint32 { return binary.BigEndian.Uint32(f.Payload) }

// PingData returns a PING's 8 bytes.
func (f MuxFrame) PingData() (d [8]byte) {
	copy(d[:], f.Payload)
	return d
}

// Settings returns a SETTINGS frame's settings, defaults for those it
// leaves out.
func (f MuxFrame) Settings() MuxSettings {
	s := DefaultMuxSettings()
	for p := f.Payload; len(p) >= 6; p = p[6:] {
		v := binary.BigEndian.Uint32(p[2:])
		switch binary.BigEndian.Uint16(p) {
		case muxSettingInitialWindow:
			s.InitialWindow = v
		case muxSettingMaxFrameSize:
			s.MaxFrameSize = v
		case muxSettingMaxHeaderSize:
			s.MaxHeaderSize = v
		case muxSettingMaxStreams:
			s.MaxStreams = v
		}
	}
	return s
}

// Status returns what a CANCEL frame carries as a status. A code beyond
// gRPC's is Unknown.
func (f MuxFrame) Status() *grpcstatus.Status {
	return grpcstatus.New(muxCode(binary.BigEndian.Uint32(f.Payload)), muxText(f.Payload[4:]))
}

// GoAway returns a GOAWAY frame's last stream id, and its code and message
// as a status.
func (f MuxFrame) GoAway() (last uint32, st *grpcstatus.Status) {
	return binary.BigEndian.Uint32(f.Payload), grpcstatus.New(muxCode(binary.BigEndian.Uint32(f.Payload[4:])), muxText(f.Payload[8:]))
}

func muxCode(c uint32) codes.Code {
	if c > uint32(codes.Unauthenticated) {
		return codes.Unknown
	}
	return codes.Code(c)
}

func muxText(b []byte) string { return strings.ToValidUTF8(string(b), "\uFFFD") }

// AppendMuxHeader appends a frame header for an n-byte payload, for a
// writer that appends the payload itself (a slice of a message, with no
// copy). n must fit the peer's limits, which the caller checks.
func AppendMuxHeader(dst []byte, t MuxType, flags byte, stream uint32, n int) []byte {
	dst = append(dst, byte(n>>16), byte(n>>8), byte(n), byte(t), flags)
	return binary.BigEndian.AppendUint32(dst, stream)
}

// AppendMuxFrame appends a whole frame.
func AppendMuxFrame(dst []byte, t MuxType, flags byte, stream uint32, payload []byte) []byte {
	return append(AppendMuxHeader(dst, t, flags, stream, len(payload)), payload...)
}

// AppendMuxOpen appends the HEADERS frame that opens stream with a call of
// method and request headers md (endStream: and half-closes it). A payload
// over maxSize (the server's MaxHeaderSize) is not appended: the error is
// ResourceExhausted, and a malformed method InvalidArgument.
func AppendMuxOpen(dst []byte, stream uint32, method string, md metadata.MD, endStream bool, maxSize uint32) ([]byte, error) {
	if !validMuxMethod(method) {
		return dst, grpcstatus.Errorf(codes.InvalidArgument, "grpc-mux: malformed method %q", truncate(method))
	}
	var flags byte
	if endStream {
		flags = MuxFlagEndStream
	}
	start := len(dst)
	out := AppendMuxHeader(dst, MuxTypeHeaders, flags, stream, 0)
	out = append(out, method...)
	out = append(out, "\r\n"...)
	out = AppendHeaderBlock(out, md)
	return patchMuxLength(out, start, maxSize, "request headers")
}

// AppendMuxHeaderBlock appends a HEADERS (the response headers) or TRAILERS
// frame carrying md for stream. A payload over maxSize (the client's
// MaxHeaderSize) is not appended: the error is ResourceExhausted.
func AppendMuxHeaderBlock(dst []byte, t MuxType, stream uint32, md metadata.MD, maxSize uint32) ([]byte, error) {
	start := len(dst)
	out := AppendHeaderBlock(AppendMuxHeader(dst, t, 0, stream, 0), md)
	return patchMuxLength(out, start, maxSize, "response "+strings.ToLower(t.String()))
}

// patchMuxLength writes the length of the frame at out[start:] into its
// header, or drops the frame when it is over maxSize.
func patchMuxLength(out []byte, start int, maxSize uint32, what string) ([]byte, error) {
	n := len(out) - start - MuxHeaderLen
	if uint64(n) > uint64(maxSize) {
		return out[:start], grpcstatus.Errorf(codes.ResourceExhausted, "grpc-mux: %s of %d bytes are over the peer's limit of %d", what, n, maxSize)
	}
	out[start], out[start+1], out[start+2] = byte(n>>16), byte(n>>8), byte(n)
	return out, nil
}

// AppendMuxCancel appends a CANCEL frame for stream with st's code and
// message (cut to fit).
func AppendMuxCancel(dst []byte, stream uint32, st *grpcstatus.Status) []byte {
	msg := cutText(st.Message(), MuxMaxControlPayload-4)
	dst = AppendMuxHeader(dst, MuxTypeCancel, 0, stream, 4+len(msg))
	dst = binary.BigEndian.AppendUint32(dst, uint32(st.Code()))
	return append(dst, msg...)
}

// AppendMuxGoAway appends a GOAWAY frame: last is the highest stream the
// sender processed, st why it goes away (OK for a shutdown).
func AppendMuxGoAway(dst []byte, last uint32, st *grpcstatus.Status) []byte {
	msg := cutText(st.Message(), MuxMaxControlPayload-8)
	dst = AppendMuxHeader(dst, MuxTypeGoAway, 0, 0, 8+len(msg))
	dst = binary.BigEndian.AppendUint32(dst, last)
	dst = binary.BigEndian.AppendUint32(dst, uint32(st.Code()))
	return append(dst, msg...)
}

// AppendMuxWindowUpdate appends a WINDOW_UPDATE granting n more bytes on
// stream.
func AppendMuxWindowUpdate(dst []byte, stream, n uint32) []byte {
	return binary.BigEndian.AppendUint32(AppendMuxHeader(dst, MuxTypeWindowUpdate, 0, stream, 4), n)
}

// AppendMuxPing appends a PING, or with ack its answer.
func AppendMuxPing(dst []byte, ack bool, data [8]byte) []byte {
	var flags byte
	if ack {
		flags = MuxFlagAck
	}
	return append(AppendMuxHeader(dst, MuxTypePing, flags, 0, 8), data[:]...)
}

// AppendMuxSettings appends a SETTINGS frame announcing s, every setting
// spelled out.
func AppendMuxSettings(dst []byte, s MuxSettings) []byte {
	dst = AppendMuxHeader(dst, MuxTypeSettings, 0, 0, 4*6)
	for _, kv := range [...]struct {
		id uint16
		v  uint32
	}{
		{muxSettingInitialWindow, s.InitialWindow},
		{muxSettingMaxFrameSize, s.MaxFrameSize},
		{muxSettingMaxHeaderSize, s.MaxHeaderSize},
		{muxSettingMaxStreams, s.MaxStreams},
	} {
		dst = binary.BigEndian.AppendUint16(dst, kv.id)
		dst = binary.BigEndian.AppendUint32(dst, kv.v)
	}
	return dst
}

// ParseMuxOpen parses the payload of a client's HEADERS: the method, then
// the request header block. Its errors are InvalidArgument statuses, for
// the call that the stream was to carry. The method and the metadata's
// values share one copy of p (none when p is a string): a stream keeps
// them for as long as it is open.
func ParseMuxOpen[T string | []byte](p T) (method string, md metadata.MD, err error) {
	line, block, ok := strings.Cut(string(p), "\r\n")
	if !ok || !validMuxMethod(line) {
		return "", nil, grpcstatus.Errorf(codes.InvalidArgument, "grpc-mux: HEADERS must start with the method and CRLF; got %q", truncate(line))
	}
	md, err = parseHeaderLines(block)
	if err != nil {
		return "", nil, grpcstatus.Errorf(codes.InvalidArgument, "grpc-mux: request %v", err)
	}
	return line, md, nil
}

// validMuxMethod reports whether m is a method path ("/Service/Method")
// that a header line can carry.
func validMuxMethod(m string) bool {
	if len(m) < 2 || m[0] != '/' {
		return false
	}
	for i := 0; i < len(m); i++ {
		if c := m[i]; c <= ' ' || c >= 0x7f || c == '?' || c == '#' {
			return false
		}
	}
	return true
}

// cutText returns s, cut to at most n bytes at a rune boundary.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// MuxReader reads frames from a WebSocket's incoming bytes, checking each
// frame header against the reader's own settings (the limits it announced)
// and the protocol's rules before it reads the payload, and each control
// payload's values after. It also checks that SETTINGS comes first and only
// once. What it refuses is a connection error; its errors carry a code:
//
//   - io.EOF at the end of the input, between frames;
//   - ResourceExhausted for a payload over its limit, or several frames in
//     a WebSocket message over MuxMaxBatch;
//   - for anything malformed, InvalidArgument when reading a client's
//     frames and Internal when reading a server's (the code of the side
//     that broke the protocol, as Reader does);
//   - any other error of the underlying reader as it is.
type MuxReader struct {
	src        io.Reader
	own        MuxSettings
	fromClient bool
	malformed  codes.Code
	hdr        [MuxHeaderLen]byte
	buf        []byte
	settled    bool // SETTINGS was read

	messages  bool // Reset was called: src is one WebSocket message
	msgBytes  int
	msgFrames int
}

// NewMuxServerReader returns a reader of a client's frames, for a server
// that announced own.
func NewMuxServerReader(src io.Reader, own MuxSettings) *MuxReader {
	return &MuxReader{src: src, own: own, fromClient: true, malformed: codes.InvalidArgument}
}

// NewMuxClientReader returns a reader of a server's frames, for a client
// that announced own.
func NewMuxClientReader(src io.Reader, own MuxSettings) *MuxReader {
	return &MuxReader{src: src, own: own, malformed: codes.Internal}
}

// Reset makes the reader read the frames of one WebSocket message from
// src: Next returns io.EOF at its end, and an error when it ends inside a
// frame or holds several frames in more than MuxMaxBatch bytes. Without
// Reset the reader takes its input as one stream, message boundaries
// unseen.
func (r *MuxReader) Reset(src io.Reader) {
	r.src, r.messages, r.msgBytes, r.msgFrames = src, true, 0, 0
}

// muxTrustedSize is how much of an announced payload the reader allocates
// before the bytes arrive; beyond it the buffer grows as they do, so a peer
// that announces the largest frame and sends nothing costs this much.
const muxTrustedSize = 16 << 10

// Next returns the next frame. Its Payload is valid until the next call.
func (r *MuxReader) Next() (MuxFrame, error) {
	if n, err := io.ReadFull(r.src, r.hdr[:]); err != nil {
		if err == io.ErrUnexpectedEOF || (err == io.EOF && n > 0) {
			return MuxFrame{}, r.errorf("the input ends inside a frame header (%d of %d bytes)", n, MuxHeaderLen)
		}
		return MuxFrame{}, err
	}
	n := int(r.hdr[0])<<16 | int(r.hdr[1])<<8 | int(r.hdr[2])
	f := MuxFrame{Type: MuxType(r.hdr[3]), Flags: r.hdr[4], Stream: binary.BigEndian.Uint32(r.hdr[5:])}
	if err := r.checkHeader(f, n); err != nil {
		return MuxFrame{}, err
	}
	if r.messages {
		r.msgBytes += MuxHeaderLen + n
		r.msgFrames++
		if r.msgFrames > 1 && r.msgBytes > MuxMaxBatch {
			return MuxFrame{}, grpcstatus.Errorf(codes.ResourceExhausted, "grpc-mux: a WebSocket message holds several frames in more than %d bytes", MuxMaxBatch)
		}
	}
	p, err := r.readPayload(n)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return MuxFrame{}, r.errorf("the input ends inside a %v frame: its header announced %d bytes, %d arrived", f.Type, n, len(p))
		}
		return MuxFrame{}, err
	}
	f.Payload = p
	if err := r.checkPayload(f); err != nil {
		return MuxFrame{}, err
	}
	if f.Type == MuxTypeSettings {
		r.settled = true
	}
	return f, nil
}

func (r *MuxReader) errorf(format string, a ...any) error {
	return grpcstatus.Errorf(r.malformed, "grpc-mux: "+format, a...)
}

// checkHeader checks what a frame header alone can break.
func (r *MuxReader) checkHeader(f MuxFrame, n int) error {
	if f.Type > MuxTypeGoAway {
		return r.errorf("unknown frame type 0x%02x", uint8(f.Type))
	}
	if f.Stream > MuxMaxStreamID {
		return r.errorf("%v frame with the reserved bit of its stream id set", f.Type)
	}
	switch {
	case !r.settled && f.Type != MuxTypeSettings:
		return r.errorf("the first frame must be SETTINGS, not %v", f.Type)
	case r.settled && f.Type == MuxTypeSettings:
		return r.errorf("a second SETTINGS frame")
	}
	connection := f.Type == MuxTypeSettings || f.Type == MuxTypePing || f.Type == MuxTypeGoAway
	switch {
	case connection && f.Stream != 0:
		return r.errorf("%v frame on stream %d; it belongs to stream 0", f.Type, f.Stream)
	case !connection && f.Stream == 0:
		return r.errorf("%v frame on stream 0", f.Type)
	case !connection && f.Stream%2 == 0:
		return r.errorf("%v frame on even stream %d; clients open odd streams", f.Type, f.Stream)
	}
	var flags byte // the flags the frame may carry
	switch f.Type {
	case MuxTypeData, MuxTypeHeaders:
		if r.fromClient {
			flags = MuxFlagEndStream
		}
	case MuxTypeTrailers:
		if r.fromClient {
			return r.errorf("TRAILERS frame from a client")
		}
	case MuxTypePing:
		flags = MuxFlagAck
	}
	if f.Flags&^flags != 0 {
		return r.errorf("%v frame with flags 0x%02x", f.Type, f.Flags)
	}
	var limit, exact, least int
	switch f.Type {
	case MuxTypeData:
		limit = int(r.own.MaxFrameSize)
		if n == 0 && f.Flags&MuxFlagEndStream == 0 {
			return r.errorf("empty DATA frame without END_STREAM on stream %d", f.Stream)
		}
	case MuxTypeHeaders, MuxTypeTrailers:
		limit = int(r.own.MaxHeaderSize)
	case MuxTypeCancel:
		limit, least = MuxMaxControlPayload, 4
	case MuxTypeGoAway:
		limit, least = MuxMaxControlPayload, 8
	case MuxTypeSettings:
		limit = MuxMaxControlPayload
		if n%6 != 0 {
			return r.errorf("SETTINGS payload of %d bytes is not a whole number of settings", n)
		}
	case MuxTypeWindowUpdate:
		exact = 4
	case MuxTypePing:
		exact = 8
	}
	switch {
	case exact > 0 && n != exact:
		return r.errorf("%v payload of %d bytes; it has %d", f.Type, n, exact)
	case n < least:
		return r.errorf("%v payload of %d bytes; it has at least %d", f.Type, n, least)
	case exact == 0 && n > limit:
		return grpcstatus.Errorf(codes.ResourceExhausted, "grpc-mux: %v payload of %d bytes is over the limit of %d", f.Type, n, limit)
	}
	return nil
}

// checkPayload checks the values of a control frame's payload.
func (r *MuxReader) checkPayload(f MuxFrame) error {
	switch f.Type {
	case MuxTypeWindowUpdate:
		if inc := f.Increment(); inc == 0 || inc > MuxMaxWindow {
			return r.errorf("WINDOW_UPDATE of %d on stream %d; increments are 1 to %d", inc, f.Stream, MuxMaxWindow)
		}
	case MuxTypeCancel:
		if binary.BigEndian.Uint32(f.Payload) == uint32(codes.OK) {
			return r.errorf("CANCEL with code OK on stream %d", f.Stream)
		}
	case MuxTypeSettings:
		return f.Settings().check(r.malformed)
	}
	return nil
}

// readPayload reads n bytes into r.buf, allocating at most muxTrustedSize
// ahead of the bytes. On error it returns what arrived.
func (r *MuxReader) readPayload(n int) ([]byte, error) {
	if cap(r.buf) < min(n, muxTrustedSize) {
		r.buf = make([]byte, 0, min(n, muxTrustedSize))
	}
	buf := r.buf[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), cap(buf)))
		}
		m, err := io.ReadFull(r.src, buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+m]
		if err != nil {
			return buf, err
		}
	}
	r.buf = buf
	return buf, nil
}

// WriteMuxMessages hands the whole frames in b to send as WebSocket
// messages of at most MuxMaxBatch bytes each, or of one frame when that
// frame alone is bigger. b holds whole frames only.
func WriteMuxMessages(b []byte, send func(message []byte) error) error {
	for len(b) > 0 {
		n := 0
		for n < len(b) {
			size := MuxHeaderLen + (int(b[n])<<16 | int(b[n+1])<<8 | int(b[n+2]))
			if n > 0 && n+size > MuxMaxBatch {
				break
			}
			n += size
		}
		if err := send(b[:n]); err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}
