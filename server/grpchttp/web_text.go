package grpchttp

import (
	"encoding/base64"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// base64Reader decodes a grpc-web-text request body: base64 in groups of
// four characters, where a padded group may end one chunk and another
// begin, as clients that encode each message on its own send it.
type base64Reader struct {
	r    io.Reader
	in   [4096]byte
	nin  int
	out  []byte // decoded and not yet read
	dec  [3072]byte
	rerr error
}

func (b *base64Reader) Read(p []byte) (int, error) {
	for len(b.out) == 0 {
		if b.rerr != nil {
			if b.nin > 0 && b.rerr == io.EOF {
				return 0, status.Errorf(codes.InvalidArgument, "grpc-web-text: the request body ends inside a base64 group")
			}
			return 0, b.rerr
		}
		n, err := b.r.Read(b.in[b.nin:])
		b.nin += n
		b.rerr = err
		whole := b.nin / 4 * 4
		out, err := decodeBase64Groups(b.dec[:0], b.in[:whole])
		if err != nil {
			return 0, err
		}
		b.out = out
		b.nin = copy(b.in[:], b.in[whole:b.nin])
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	return n, nil
}

// decodeBase64Groups appends the bytes of src, whole groups of padded
// base64, to dst, splitting it after each padded group.
func decodeBase64Groups(dst, src []byte) ([]byte, error) {
	for len(src) > 0 {
		seg := len(src)
		for i := 3; i < len(src); i += 4 {
			if src[i] == '=' {
				seg = i + 1
				break
			}
		}
		n, err := base64.StdEncoding.Decode(dst[len(dst):cap(dst)], src[:seg])
		if err != nil {
			return nil, status.Errorf(codes.InvalidArgument, "grpc-web-text: the request body is not base64: %v", err)
		}
		dst = dst[:len(dst)+n]
		src = src[seg:]
	}
	return dst, nil
}
