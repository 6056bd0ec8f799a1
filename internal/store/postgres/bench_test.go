package postgres_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/twofold/twofold/internal/bench/storebench"
	"github.com/twofold/twofold/internal/store/postgres"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
)

// The store's hot paths (see storebench.Run), with 1,000 and
// 100,000 sessions in the table, each size in a database of its own:
// TWOFOLD_TEST_POSTGRES_DSN=… go test -run '^$' -bench . ./internal/store/postgres
func BenchmarkStore(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			s, err := postgres.Open(context.Background(), pgtest.Database(b))
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			storebench.Run(b, s, n)
		})
	}
}
