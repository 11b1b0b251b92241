//go:build unix

package server

import (
	"io"
	"net"
	"syscall"
)

// peekTCP peeks at the first len(head) bytes of c without consuming them,
// in the kernel (MSG_PEEK), so the connection goes on as it was.
func peekTCP(c *net.TCPConn, head []byte) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var n int
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		for {
			n, _, perr = syscall.Recvfrom(int(fd), head, syscall.MSG_PEEK)
			if perr != syscall.EINTR {
				break // an interrupted peek is tried again at once
			}
		}
		return perr != syscall.EAGAIN // else wait for the socket, then peek again
	})
	switch {
	case err != nil:
		return err
	case perr != nil:
		return perr
	case n == 0:
		return io.EOF
	case n < len(head):
		return errPartialPeek
	}
	return nil
}
