package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
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

// ErrFrameTooLarge is wrapped by the error Reader.Next returns for a frame
// whose prefix announces more than the reader's limit.
var ErrFrameTooLarge = errors.New("frame larger than the message size limit")

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
// the payload.
type Reader struct {
	r      io.Reader
	max    int
	prefix [PrefixLen]byte
	buf    []byte
}

// NewReader returns a Reader of r for payloads of at most maxSize bytes.
func NewReader(r io.Reader, maxSize int) *Reader {
	return &Reader{r: r, max: maxSize}
}

// trustedSize is how much of an announced payload a Reader allocates before
// the bytes arrive. Beyond it the buffer grows with the bytes read: a peer
// that announces the largest message and sends nothing costs this, not the
// message size limit.
const trustedSize = 32 << 10

// Next returns the next frame. Its Payload is valid until the next call. At
// the end of the stream it returns io.EOF between frames and
// io.ErrUnexpectedEOF inside one.
func (r *Reader) Next() (Frame, error) {
	if _, err := io.ReadFull(r.r, r.prefix[:]); err != nil {
		return Frame{}, err
	}
	flag := r.prefix[0]
	n := binary.BigEndian.Uint32(r.prefix[1:])
	if uint64(n) > uint64(r.max) {
		return Frame{}, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, n, r.max)
	}
	payload, err := r.readPayload(int(n))
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return Frame{}, err
	}
	return Frame{Flag: flag, Payload: payload}, nil
}

// readPayload reads n bytes into r.buf, growing it (at most doubling) as
// they arrive once n is past trustedSize.
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
			return nil, err
		}
	}
	r.buf = buf
	return buf, nil
}
