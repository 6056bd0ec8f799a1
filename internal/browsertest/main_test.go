// Package browsertest drives the real twofold binary with a real browser:
// headless Chromium, through the DevTools protocol (chromedp). It walks the
// journey of the 2FA help article by visible labels, checks what each page
// shows, takes screenshots of every page at desktop and phone sizes, runs
// axe-core on every page and prints the backup codes to PDF.
//
// Each test builds nothing and shares nothing but the browser: it starts its
// own `twofold serve` on a free loopback port with a fresh SQLite database,
// and its own browser context (cookies, storage). TOTP codes come from the
// oathtool command, an implementation independent of internal/totp.
//
// Chromium is /usr/bin/chromium (Debian's package chromium), or
// $TWOFOLD_TEST_CHROMIUM. Without it, or without oathtool, the tests skip
// with a message; with CI=true they fail instead, so CI cannot skip them.
package browsertest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twofold/twofold/internal/accounttest"
)

var updateDocs = flag.Bool("update-docs", false, "TestScreenshots also writes docs/screenshots/enable-2fa.png for the README")

var (
	// missing says which tool is absent; "" when the suite can run.
	missing string
	// startErr is why the binary could not be built or Chromium not started.
	startErr error
	// binary is the twofold binary built for this run.
	binary string
	// browserCtx has the one Chromium process of the run; each test opens its
	// own browser context in it.
	browserCtx context.Context
	// chromiumOutput is what Chromium printed, for a start failure.
	chromiumOutput accounttest.LogBuffer
	oathtool       string
	// buildFlags are the go build flags of the server binary.
	buildFlags []string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runSuite(m))
}

func runSuite(m *testing.M) int {
	chromium := os.Getenv("TWOFOLD_TEST_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	var err error
	if _, err = os.Stat(chromium); err != nil {
		missing = fmt.Sprintf("no Chromium at %s (install the Debian package chromium, or set TWOFOLD_TEST_CHROMIUM)", chromium)
		return m.Run()
	}
	if oathtool, err = exec.LookPath("oathtool"); err != nil {
		missing = "no oathtool command (install the Debian package oathtool)"
		return m.Run()
	}

	dir, err := os.MkdirTemp("", "twofold-browsertest")
	if err != nil {
		startErr = err
		return m.Run()
	}
	defer os.RemoveAll(dir)

	binary = filepath.Join(dir, "twofold")
	args := append(append([]string{"build"}, buildFlags...), "-o", binary, "github.com/twofold/twofold/cmd/twofold")
	build := exec.Command("go", args...)
	if out, err := build.CombinedOutput(); err != nil {
		startErr = fmt.Errorf("go build twofold: %v\n%s", err, out)
		return m.Run()
	}
	// Under go test -race the server is the race build: see ChildGORACE
	// for the two options that make it faster (a race found still makes it
	// exit 66, which the test reports).
	os.Setenv("GORACE", accounttest.ChildGORACE(os.Getenv("GORACE")))

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox refuses to start
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(filepath.Join(dir, "chromium-profile")),
		chromedp.CombinedOutput(&chromiumOutput),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// The first Do starts Chromium and ties it to ctx, so it cannot take a
	// timeout of its own; wait for it here instead.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(ctx) }()
	select {
	case err = <-started:
	case <-time.After(60 * time.Second):
		err = errors.New("no answer within 60s")
	}
	if err != nil {
		startErr = fmt.Errorf("start %s: %v\n%s", chromium, err, chromiumOutput.String())
		return m.Run()
	}
	browserCtx = ctx
	return m.Run()
}

// needBrowser skips the test when a tool is missing, except in CI.
func needBrowser(t *testing.T) {
	t.Helper()
	if missing != "" {
		if inCI() {
			t.Fatalf("%s: CI must run the browser tests", missing)
		}
		t.Skipf("%s: skipping the browser tests (CI runs them)", missing)
	}
	if startErr != nil {
		t.Fatal(startErr)
	}
}

// inCI reports whether CI is set to a true value, as CI systems do.
func inCI() bool {
	ci, err := strconv.ParseBool(os.Getenv("CI"))
	return err == nil && ci
}
