// Package zstdfile compresses the page's assets with zstd, the same way for
// `make wasm` and for the benchmarks' yardstick.
package zstdfile

import (
	"fmt"
	"os"

	"github.com/klauspost/compress/zstd"
)

// maxWindow is the largest window a browser decodes in Content-Encoding
// zstd (RFC 9659: 8 MiB); a frame that needs more is refused whole.
const maxWindow = 8 << 20

// Encode compresses b with zstd at its best compression, in frames a
// browser decodes: a window of at most 8 MiB, never a single segment
// (whose window is the whole content).
func Encode(b []byte) ([]byte, error) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(maxWindow), zstd.WithSingleSegment(false))
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	return enc.EncodeAll(b, make([]byte, 0, len(b)/3)), nil
}

// Write writes name.zst, name's content compressed by Encode.
func Write(name string) error {
	b, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	z, err := Encode(b)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return os.WriteFile(name+".zst", z, 0o644)
}
