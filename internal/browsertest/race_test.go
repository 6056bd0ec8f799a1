//go:build race

package browsertest

// The server is built with the race detector when the tests are, so that
// `go test -race` also checks the server under real browser traffic.
func init() { buildFlags = append(buildFlags, "-race") }
