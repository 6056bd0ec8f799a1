package totp

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/binary"
	"testing"
	"time"
)

// The target of issue 5: Validate at ±1 step (three HOTP values, the
// constant-time compares and the replay check against the last used step,
// all in memory) costs at most 2× three raw HMAC-SHA-1 computations.
// Compare BenchmarkValidateSkew1 with BenchmarkThreeRawHMACSHA1 (on Linux
// both also report cpu-ns/op, the CPU time of the benchmark's thread).

var benchSecret = []byte("12345678901234567890")

var sinkStep int64
var sinkOK bool
var sinkSum []byte

func BenchmarkValidateSkew1(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	// A code of the previous step: every candidate is computed anyway.
	code := Code(benchSecret, now.Add(-Period))
	last := Step(now) - 5
	measureCPU(b, func() {
		for b.Loop() {
			sinkStep, sinkOK = Validate(benchSecret, code, now, 1, last)
		}
	})
	if !sinkOK {
		b.Fatal("Validate refused a code of the previous step")
	}
}

func BenchmarkValidateWrongCode(b *testing.B) {
	now := time.Unix(1_800_000_000, 0)
	for b.Loop() {
		sinkStep, sinkOK = Validate(benchSecret, "000000", now, 1, 0)
	}
}

// BenchmarkThreeRawHMACSHA1 is the baseline: three HMAC-SHA-1 over an
// 8-byte counter with a 20-byte key, each with its own hmac.New as one
// HOTP computation needs.
func BenchmarkThreeRawHMACSHA1(b *testing.B) {
	var msg [8]byte
	measureCPU(b, func() {
		for b.Loop() {
			for c := range uint64(3) {
				mac := hmac.New(sha1.New, benchSecret)
				binary.BigEndian.PutUint64(msg[:], 56_666_665+c)
				mac.Write(msg[:])
				sinkSum = mac.Sum(nil)
			}
		}
	})
}

func BenchmarkHOTP(b *testing.B) {
	for b.Loop() {
		_ = HOTP(benchSecret, 56_666_666, Digits)
	}
}
