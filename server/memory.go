package server

import (
	"context"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// Go's runtime gives freed memory back to the system slowly, and collects
// garbage only as a program allocates: after a flood of calls ends
// (thousands of streams a client never read, say), an idle process would
// hold its peak for minutes. giveBack returns it at once
// (debug.FreeOSMemory: a collection, then the release) when the calls in
// flight have dropped by dropCalls since their peak, or when more than
// freeBytes of the heap is free but still held; it checks every interval
// until ctx ends. In steady state it does nothing.
func giveBack(ctx context.Context, interval time.Duration, inFlight func() int, dropCalls int, freeBytes uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/free:bytes"}}
	peak := inFlight()
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := inFlight()
		peak = max(peak, n)
		metrics.Read(sample)
		if peak-n >= dropCalls || (sample[0].Value.Kind() == metrics.KindUint64 && sample[0].Value.Uint64() > freeBytes) {
			debug.FreeOSMemory()
			peak = n
		}
	}
}

// Memory give-back: checked every 2 s, after 128 calls ended since the
// peak or past 32 MiB held free.
const (
	giveBackInterval  = 2 * time.Second
	giveBackCalls     = 128
	giveBackFreeBytes = 32 << 20
)
