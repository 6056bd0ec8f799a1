//go:build race

package browsertest

import "github.com/twofold/twofold/internal/accounttest"

// The server is built with the race detector when the tests are, so that
// `go test -race` also checks the server under real browser traffic.
func init() { buildFlags = append(buildFlags, accounttest.RaceBuildFlags...) }
