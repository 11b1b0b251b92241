package client

import (
	"google.golang.org/grpc/codes"

	"github.com/grpcplay/playground/proto/grpcstatus"
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
const Gzip = grpcwire.EncodingGzip

// identity is the encoding name of uncompressed messages.
const identity = grpcwire.EncodingIdentity

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
	return "", grpcstatus.Errorf(codes.Internal, "grpc: Compressor is not installed for requested grpc-encoding %q", o.compressor)
}

// appendGzipFrame appends msg to b as a gzip-compressed message frame,
// with the Conn's gzip writers.
func appendGzipFrame(c *Conn, b, msg []byte) ([]byte, error) { return c.gzip.AppendFrame(b, msg) }

// decompressor reads the compressed frames of one response, in the
// encoding its headers name.
type decompressor struct {
	encoding string // the response's grpc-encoding; "" when it named none
	gzip     grpcwire.GzipReader
}

// decompress returns the payload of a compressed frame, valid until the
// next call: Internal when the response named no encoding that this client
// reads, or the payload is not what it named; ResourceExhausted when it
// decompresses to more than limit bytes, which are all it ever holds.
func (d *decompressor) decompress(p []byte, limit int) ([]byte, error) {
	switch d.encoding {
	case "", identity:
		return nil, grpcstatus.Error(codes.Internal, "grpc: compressed frame in a response whose grpc-encoding is identity")
	case Gzip:
		return d.gzip.Decompress(p, limit)
	}
	return nil, grpcstatus.Errorf(codes.Internal, "grpc: Decompressor is not installed for grpc-encoding %q", d.encoding)
}
