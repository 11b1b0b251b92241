//go:build !unix

package listener

import "net"

// peekTCP cannot peek in the kernel here: the caller reads the first bytes
// and replays them instead.
func peekTCP(*net.TCPConn, []byte) error { return errPartialPeek }

// peekFirstRequest cannot peek in the kernel here: the caller reads.
func peekFirstRequest(*net.TCPConn, []byte) (native, ok bool) { return false, false }
