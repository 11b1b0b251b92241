package grpcwire

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"slices"
	"strings"
	"sync"

	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
)

// Message encodings (grpc-encoding, grpc-accept-encoding). gzip is the one
// every gRPC implementation has, and the only one here: messages are
// compressed with compress/gzip itself, so that the browser build, which
// shares this package, links neither grpc-go's encoding registry nor its
// buffer pools.
const (
	EncodingIdentity = "identity"
	EncodingGzip     = "gzip"
)

// AcceptsEncoding reports whether a grpc-accept-encoding value (a
// comma-separated list) names enc.
func AcceptsEncoding(accept, enc string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		if strings.EqualFold(strings.TrimSpace(part), enc) {
			return true
		}
	}
	return false
}

// GzipWriters compresses messages into gzip-compressed frames, with gzip
// writers it keeps for reuse (each holds several hundred KiB of compressor
// state while it works). The zero value is ready; it is safe for
// concurrent use.
type GzipWriters struct{ pool sync.Pool }

// AppendFrame appends msg to b as a gzip-compressed message frame.
func (g *GzipWriters) AppendFrame(b, msg []byte) ([]byte, error) {
	start := len(b)
	buf := bytes.NewBuffer(AppendPrefix(b, FlagCompressed, 0))
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
		return b, grpcstatus.Errorf(codes.Internal, "grpc: error while compressing: %v", err)
	}
	out := buf.Bytes()
	binary.BigEndian.PutUint32(out[start+1:], uint32(len(out)-start-PrefixLen))
	return out, nil
}

// GzipReader decompresses the gzip-compressed payloads of one stream into a
// buffer it reuses. The zero value is ready; it is not safe for concurrent
// use.
type GzipReader struct {
	zr  *gzip.Reader
	out []byte
}

// Decompress returns what p decompresses to, valid until the next call:
// ResourceExhausted when that is more than limit bytes, which are all it
// ever holds (a gzip bomb costs limit bytes, not its size); Internal when
// p is not gzip.
func (d *GzipReader) Decompress(p []byte, limit int) ([]byte, error) {
	var err error
	if d.zr == nil {
		d.zr, err = gzip.NewReader(bytes.NewReader(p))
	} else {
		err = d.zr.Reset(bytes.NewReader(p))
	}
	if err != nil {
		return nil, grpcstatus.Errorf(codes.Internal, "grpc: failed to decompress the received message: %v", err)
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
			d.out = out[:0]
			return nil, grpcstatus.Errorf(codes.ResourceExhausted, "grpc: received message after decompression larger than max (more than %d)", limit)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, grpcstatus.Errorf(codes.Internal, "grpc: failed to decompress the received message: %v", err)
		}
	}
	d.out = out
	return out, nil
}

// Release lets go of a buffer grown past keep bytes, so that a stream
// that once took a large message does not hold it while idle.
func (d *GzipReader) Release(keep int) {
	if cap(d.out) > keep {
		d.out = nil
	}
}
