package conformance

import (
	"encoding/binary"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"
)

// maxWireMessage bounds one message read from the runner: a test case
// with its request messages, or a server's settings.
const maxWireMessage = 16 << 20

// readMessage reads one message as the runner frames them on stdin and
// stdout: a 4-byte big-endian length, then the message. It returns io.EOF
// when r ends before a message begins.
func readMessage(r io.Reader, m proto.Message) error {
	var prefix [4]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return fmt.Errorf("read message length: %w", err)
		}
		return err
	}
	n := binary.BigEndian.Uint32(prefix[:])
	if n > maxWireMessage {
		return fmt.Errorf("message of %d bytes is over the limit of %d", n, maxWireMessage)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return fmt.Errorf("read message of %d bytes: %w", n, io.ErrUnexpectedEOF)
	}
	if err := proto.Unmarshal(b, m); err != nil {
		return fmt.Errorf("unmarshal %T: %w", m, err)
	}
	return nil
}

// writeMessage writes m framed as readMessage reads it, in one write.
func writeMessage(w io.Writer, m proto.Message) error {
	b, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("marshal %T: %w", m, err)
	}
	out := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(b)), uint32(len(b)))
	_, err = w.Write(append(out, b...))
	return err
}
