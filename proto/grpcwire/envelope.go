package grpcwire

import (
	"encoding/binary"
	"io"
	"slices"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
)

// Frame flags: the first byte of the 5-byte prefix.
const (
	// FlagData marks an uncompressed message frame.
	FlagData byte = 0x00
	// FlagCompressed marks a compressed message frame; nothing here
	// compresses, so a peer sending one gets Unimplemented.
	FlagCompressed byte = 0x01
	// FlagTrailer marks a gRPC-Web header block: the trailers, or in the
	// grpc-websockets protocol also the response headers.
	FlagTrailer byte = 0x80
)

// PrefixLen is the size of a frame's prefix: a flag byte and a 4-byte
// big-endian payload length.
const PrefixLen = 5

// Frame is one length-prefixed gRPC frame.
type Frame struct {
	Flag    byte
	Payload []byte
}

// IsTrailer reports whether the frame is a header block rather than a message.
func (f Frame) IsTrailer() bool { return f.Flag&FlagTrailer != 0 }

// Message returns the payload of a request message frame: a data frame. A
// compressed frame gets Unimplemented (no compression was negotiated), any
// other flag InvalidArgument.
func (f Frame) Message() ([]byte, error) {
	switch f.Flag {
	case FlagData:
		return f.Payload, nil
	case FlagCompressed:
		return nil, grpcstatus.Error(codes.Unimplemented, "compressed messages are not supported: send grpc-encoding identity")
	}
	return nil, grpcstatus.Errorf(codes.InvalidArgument, "request frame with flag 0x%02x; requests are data frames (0x00)", f.Flag)
}

// AppendFrame appends a frame with flag and payload to dst.
func AppendFrame(dst []byte, flag byte, payload []byte) []byte {
	return append(AppendPrefix(dst, flag, len(payload)), payload...)
}

// AppendPrefix appends only the prefix of a frame with flag and an n-byte
// payload, for a writer that appends the payload itself right after it (a
// message marshaled in place into the output buffer, with no copy).
func AppendPrefix(dst []byte, flag byte, n int) []byte {
	dst = append(dst, flag)
	return binary.BigEndian.AppendUint32(dst, uint32(n))
}

// Reader reads frames from a byte stream, however the stream was split into
// reads, checking each announced length against a limit before it reads
// the payload. Its errors carry their gRPC code, so callers never map
// them again:
//
//   - io.EOF at the end of the stream, between frames;
//   - ResourceExhausted for a frame over the limit;
//   - for a stream that ends inside a frame, InvalidArgument when reading
//     requests (the client sent a malformed request) and Internal when
//     reading responses (the server broke the protocol);
//   - any other error of the underlying reader as it is: the caller knows
//     what a failed transport means.
type Reader struct {
	// Started, when set, is called once a frame's first byte has arrived,
	// and Begin once its prefix has, with the payload length it announces:
	// a server can bound how long a message may take to arrive.
	Started func()
	Begin   func(n int)

	r         io.Reader
	max       int
	malformed codes.Code
	prefix    [PrefixLen]byte
	buf       []byte
}

// NewRequestReader returns a Reader of a client's requests for payloads of
// at most maxSize bytes.
func NewRequestReader(r io.Reader, maxSize int) *Reader {
	return &Reader{r: r, max: maxSize, malformed: codes.InvalidArgument}
}

// NewResponseReader returns a Reader of a server's responses for payloads
// of at most maxSize bytes.
func NewResponseReader(r io.Reader, maxSize int) *Reader {
	return &Reader{r: r, max: maxSize, malformed: codes.Internal}
}

// trustedSize is how much of an announced payload a Reader allocates before
// the bytes arrive. Beyond it the buffer grows with the bytes read: a peer
// that announces the largest message and sends nothing costs this, not the
// message size limit.
const trustedSize = 32 << 10

// Next returns the next frame. Its Payload is valid until the next call.
func (r *Reader) Next() (Frame, error) {
	first := 0
	if r.Started != nil {
		if _, err := io.ReadFull(r.r, r.prefix[:1]); err != nil {
			return Frame{}, err
		}
		r.Started()
		first = 1
	}
	if n, err := io.ReadFull(r.r, r.prefix[first:]); err != nil {
		n += first
		if err == io.ErrUnexpectedEOF || (err == io.EOF && n > 0) {
			return Frame{}, grpcstatus.Errorf(r.malformed, "the stream ends inside a frame prefix (%d of %d bytes)", n, PrefixLen)
		}
		return Frame{}, err
	}
	flag := r.prefix[0]
	n := binary.BigEndian.Uint32(r.prefix[1:])
	if uint64(n) > uint64(r.max) {
		return Frame{}, grpcstatus.Errorf(codes.ResourceExhausted, "grpc: received message larger than max (%d vs. %d)", n, r.max)
	}
	if r.Begin != nil {
		r.Begin(int(n))
	}
	payload, err := r.readPayload(int(n))
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return Frame{}, grpcstatus.Errorf(r.malformed, "the stream ends inside a frame: its prefix announced %d bytes, %d arrived", n, len(payload))
		}
		return Frame{}, err
	}
	return Frame{Flag: flag, Payload: payload}, nil
}

// readPayload reads n bytes into r.buf, growing it (at most doubling) as
// they arrive once n is past trustedSize. On error it returns what arrived.
func (r *Reader) readPayload(n int) ([]byte, error) {
	if cap(r.buf) < min(n, trustedSize) {
		r.buf = make([]byte, 0, min(n, trustedSize))
	}
	buf := r.buf[:0]
	for len(buf) < n {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, min(n-len(buf), cap(buf)))
		}
		m, err := io.ReadFull(r.r, buf[len(buf):min(n, cap(buf))])
		buf = buf[:len(buf)+m]
		if err != nil {
			r.buf = buf[:0]
			return buf, err
		}
	}
	r.buf = buf
	return buf, nil
}
