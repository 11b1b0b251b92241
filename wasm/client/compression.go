package client

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"slices"
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcwire"
)

// Gzip names gzip message compression, the one encoding every gRPC
// implementation has, for UseCompressor.
//
// Messages are compressed with compress/gzip itself: grpc-go's
// encoding/gzip would register itself in grpc-go's global codec registry
// and bring its buffer pools into the browser build. Its compressor is
// reached only through UseCompressor, so a program that never compresses
// (the playground's page) does not link it: 27 KB of main.wasm.gz.
const Gzip = "gzip"

// identity is the encoding name of uncompressed messages.
const identity = "identity"

// UseCompressor compresses the call's request messages with the named
// encoding (Gzip) and tells the server, with grpc-accept-encoding, that it
// may compress its responses so too. Responses compressed with gzip are
// read whether the call asked or not; their size after decompression is
// bounded as any message's. An empty name or "identity" sends messages
// uncompressed; any other name fails the call with codes.Internal, as
// grpc-go's UseCompressor does for a compressor it does not have.
func UseCompressor(name string) CallOption {
	return CallOption{func(o *callOptions) {
		o.compressor, o.compress = name, nil
		if name == Gzip {
			o.compress = appendGzipFrame
		}
	}}
}

// compressFunc appends msg to b as a compressed message frame, with the
// compressors c keeps.
type compressFunc func(c *Conn, b, msg []byte) ([]byte, error)

// checkCompressor returns the encoding a call asked for ("" for none), or
// the error of one this client does not have.
func checkCompressor(o callOptions) (string, error) {
	switch {
	case o.compressor == "" || o.compressor == identity:
		return "", nil
	case o.compress != nil:
		return o.compressor, nil
	}
	return "", status.Errorf(codes.Internal, "grpc: Compressor is not installed for requested grpc-encoding %q", o.compressor)
}

// gzipWriters keeps the gzip writers of a Conn's compressed requests for
// reuse: each holds several hundred KiB of compressor state.
type gzipWriters struct{ pool sync.Pool }

// appendGzipFrame appends msg to b as a gzip-compressed message frame.
func appendGzipFrame(c *Conn, b, msg []byte) ([]byte, error) {
	g := &c.gzip
	start := len(b)
	buf := bytes.NewBuffer(grpcwire.AppendPrefix(b, grpcwire.FlagCompressed, 0))
	zw, _ := g.pool.Get().(*gzip.Writer)
	if zw == nil {
		zw = gzip.NewWriter(buf)
	} else {
		zw.Reset(buf)
	}
	_, err := zw.Write(msg)
	if err == nil {
		err = zw.Close()
	}
	zw.Reset(io.Discard) // let go of buf
	g.pool.Put(zw)
	if err != nil {
		return b, status.Errorf(codes.Internal, "grpc: error while compressing: %v", err)
	}
	out := buf.Bytes()
	binary.BigEndian.PutUint32(out[start+1:], uint32(len(out)-start-grpcwire.PrefixLen))
	return out, nil
}

// decompressor reads the compressed frames of one response, in the
// encoding its headers name, into a buffer it reuses.
type decompressor struct {
	encoding string // the response's grpc-encoding; "" when it named none
	zr       *gzip.Reader
	out      []byte
}

// decompress returns the payload of a compressed frame, valid until the
// next call: Internal when the response named no encoding that this client
// reads, or the payload is not what it named; ResourceExhausted when it
// decompresses to more than limit bytes, which are all it ever holds.
func (d *decompressor) decompress(p []byte, limit int) ([]byte, error) {
	switch d.encoding {
	case "", identity:
		return nil, status.Error(codes.Internal, "grpc: compressed frame in a response whose grpc-encoding is identity")
	case Gzip:
	default:
		return nil, status.Errorf(codes.Internal, "grpc: Decompressor is not installed for grpc-encoding %q", d.encoding)
	}
	var err error
	if d.zr == nil {
		d.zr, err = gzip.NewReader(bytes.NewReader(p))
	} else {
		err = d.zr.Reset(bytes.NewReader(p))
	}
	if err != nil {
		return nil, status.Errorf(codes.Internal, "grpc: failed to decompress the received message: %v", err)
	}
	out := d.out[:0]
	for {
		if len(out) == cap(out) {
			// Double, up to one byte past the limit: what the frame
			// decompresses to is held only as it arrives.
			out = slices.Grow(out, min(max(cap(out), 512), limit+1-len(out)))
		}
		n, err := d.zr.Read(out[len(out):min(cap(out), limit+1)])
		out = out[:len(out)+n]
		if len(out) > limit {
			return nil, status.Errorf(codes.ResourceExhausted, "grpc: received message after decompression larger than max (more than %d)", limit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, status.Errorf(codes.Internal, "grpc: failed to decompress the received message: %v", err)
		}
	}
	d.out = out
	return out, nil
}
