//go:build !linux

package totp

import "testing"

// measureCPU runs the loop; only Linux reports cpu-ns/op.
func measureCPU(b *testing.B, loop func()) { loop() }
