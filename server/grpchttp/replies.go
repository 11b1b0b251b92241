package grpchttp

import (
	"sync"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/grpcplay/playground/proto/grpcstatus"
	"github.com/grpcplay/playground/proto/grpcwire"
)

// replies builds what calls send back, for every call of a Server: header
// and trailer blocks (the common ones built once) and pooled output
// buffers.
type replies struct {
	maxMsgSize int
	// headerFrame and okTrailerFrame are the header and trailer blocks of
	// the common case (no metadata from the handler, status OK).
	headerFrame    []byte
	okTrailerFrame []byte
	okStatus       *status.Status
	// bufs holds *[]byte output buffers, so idle calls hold none.
	bufs sync.Pool
}

func newReplies(maxMsgSize int) *replies {
	r := &replies{maxMsgSize: maxMsgSize, okStatus: status.New(codes.OK, "")}
	r.headerFrame = grpcwire.AppendFrame(nil, grpcwire.FlagTrailer,
		grpcwire.AppendHeaderBlock(nil, metadata.MD{grpcwire.HeaderContentType: {grpcwire.ContentTypeProto}}))
	ok := metadata.MD{}
	grpcwire.AppendStatus(ok, grpcstatus.FromGRPC(r.okStatus))
	r.okTrailerFrame = grpcwire.AppendFrame(nil, grpcwire.FlagTrailer, grpcwire.AppendHeaderBlock(nil, ok))
	return r
}

// appendHeader appends a header block frame (the grpc-websockets form of
// the response headers) with md.
func (r *replies) appendHeader(out []byte, md metadata.MD) []byte {
	if len(md) == 0 {
		return append(out, r.headerFrame...)
	}
	h := outgoingMD(md, len(md)+1)
	h[grpcwire.HeaderContentType] = []string{grpcwire.ContentTypeProto}
	return grpcwire.AppendFrame(out, grpcwire.FlagTrailer, grpcwire.AppendHeaderBlock(nil, h))
}

// appendTrailer appends the trailer block frame: md and st.
func (r *replies) appendTrailer(out []byte, md metadata.MD, st *status.Status) []byte {
	if len(md) == 0 && st.Code() == codes.OK {
		return append(out, r.okTrailerFrame...)
	}
	return grpcwire.AppendFrame(out, grpcwire.FlagTrailer, grpcwire.AppendHeaderBlock(nil, trailerMD(md, st)))
}

// trailerMD is the trailers of a call that ends with st: md and the
// status's own fields.
func trailerMD(md metadata.MD, st *status.Status) metadata.MD {
	t := outgoingMD(md, len(md)+3)
	grpcwire.AppendStatus(t, grpcstatus.FromGRPC(st))
	return t
}

// outgoingMD copies a handler's metadata without the names the protocol
// itself writes.
func outgoingMD(md metadata.MD, size int) metadata.MD {
	out := make(metadata.MD, size)
	for k, v := range md {
		switch k {
		case grpcwire.HeaderContentType, grpcwire.HeaderStatus, grpcwire.HeaderMessage, grpcwire.HeaderStatusDetails:
			continue
		}
		out[k] = v
	}
	return out
}

func (r *replies) getBuf() *[]byte {
	if p, ok := r.bufs.Get().(*[]byte); ok {
		return p
	}
	p := make([]byte, 0, 512)
	return &p
}

// bufKeep is the largest buffer a call's reader keeps for its next message
// (a decompressed request's, say): a call that once took a large message
// does not sit on it while idle.
const bufKeep = 64 << 10

// putBuf returns a buffer to the pool; one grown past the message size
// limit (plus the blocks around a message) is left to the collector.
func (r *replies) putBuf(p *[]byte) {
	if cap(*p) > r.maxMsgSize+64<<10 {
		return
	}
	*p = (*p)[:0]
	r.bufs.Put(p)
}
