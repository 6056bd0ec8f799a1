package sqlite_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/twofold/twofold/internal/bench/storebench"
	"github.com/twofold/twofold/internal/store/sqlite"
)

// The store's hot paths (see storebench.Run), with 1,000 and
// 100,000 sessions in the table: go test -run '^$' -bench . ./internal/store/sqlite
func BenchmarkStore(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			s, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "twofold.db"))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			storebench.Run(b, s, n)
		})
	}
}
