//go:build linux

package totp

import (
	"runtime"
	"syscall"
	"testing"
)

// threadCPU is the CPU time of the calling OS thread, in nanoseconds.
func threadCPU() int64 {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// measureCPU runs the benchmark loop on one locked thread and reports its
// CPU time per operation as cpu-ns/op beside the wall-clock ns/op: on a
// machine shared with other work, the CPU time is the figure that other
// processes do not inflate.
func measureCPU(b *testing.B, loop func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	c0 := threadCPU()
	loop()
	b.ReportMetric(float64(threadCPU()-c0)/float64(b.N), "cpu-ns/op")
}
