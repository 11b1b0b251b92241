//go:build unix

package listener

import (
	"errors"
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

// peekFirstRequest peeks (MSG_PEEK) at what has arrived on c until it holds
// the first request header, c's read deadline passes, or buf is full, and
// reports whether that request is native gRPC. Nothing is consumed, so c
// goes on as it was. ok is false when the peek itself failed: the caller
// reads instead.
func peekFirstRequest(c *net.TCPConn, buf []byte) (native, ok bool) {
	rc, err := c.SyscallConn()
	if err != nil {
		return false, false
	}
	var complete bool
	err = rc.Read(func(fd uintptr) bool {
		var n int
		var perr error
		for {
			n, _, perr = syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK)
			if perr != syscall.EINTR {
				break
			}
		}
		switch {
		case perr == syscall.EAGAIN:
			return false // wait for bytes
		case perr != nil || n == 0:
			return true
		}
		native, complete = firstRequestIsGRPC(buf[:n])
		return complete || n == len(buf) // else wait for more bytes
	})
	if ne, ok := errors.AsType[net.Error](err); err != nil && !(ok && ne.Timeout()) {
		return false, false
	}
	return native && complete, true
}
