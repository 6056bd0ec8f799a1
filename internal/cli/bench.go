package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twofold/twofold/internal/bench"
	"github.com/twofold/twofold/internal/config"
)

const benchUsage = `Usage: twofold bench [flags]

Seeds users with 2FA on into the server's database (use the same
TWOFOLD_DATABASE / --database and server key as the running server), then
drives the running server at --url through each scenario for --duration:

  me        GET /api/v1/me, one signed-in session per client, and the same
            against a bare net/http handler started by the bench (baseline)
  signin    password (real argon2id) + TOTP code; compared with the
            password-hash bound (cores ÷ one argon2id hash, timed here)
  code      the code step alone (password step done beforehand, cheap hash)
  password  a flood of password steps, for the server's peak RSS
  forward   GET /api/v1/authz/forward-auth, the check a reverse proxy makes
            before each request of a protected app, one signed-in session
            per client, beside the bare baseline; the server must trust the
            bench as a proxy: TWOFOLD_TRUSTED_PROXIES=127.0.0.0/8

A scenario may carry its clients and a fixed rate: code:64@1500 is 64
clients starting 1500 code steps a second between them (latency then counts
from each scheduled start); without a rate each client sends as soon as its
last answer came. Each user signs in at most once per run (a TOTP code is
good once per 30-second step): --users bounds the signin and code
completions. Requests come from a random 127.x.y.z address per run, so one
run's password flood does not throttle the next.

Example (SQLite, server key in the data dir):
  twofold serve --data-dir /tmp/tf &
  twofold bench --data-dir /tmp/tf --server-pid $! --json report.json

Flags:
`

func benchCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, benchUsage); fs.PrintDefaults() }
	url := fs.String("url", "http://127.0.0.1:8080", "the running server (loopback only)")
	scenarios := fs.String("scenarios", "me:64,forward:64,signin:8,code:64,password:500", "scenarios to run, each with optional :clients and @rate per second")
	concurrency := fs.Int("concurrency", 64, "clients of a scenario named without :clients")
	duration := fs.Duration("duration", 10*time.Second, "how long each scenario runs")
	users := fs.Int("users", 20000, "users seeded for each of the signin and code scenarios")
	filler := fs.Int("filler-users", 0, "extra users, each with 2FA on and one session, to measure at scale")
	pid := fs.Int("server-pid", 0, "the server's process id, for its peak RSS (/proc/PID/status)")
	jsonOut := fs.String("json", "", "also write the report as JSON to this file (- for stdout; the table then goes to stderr)")
	samples := fs.Int("hash-samples", 5, "argon2id hashes timed for the password-hash bound")
	database := fs.String("database", "", "the server's database: SQLite file or postgres:// URL (env TWOFOLD_DATABASE)")
	dataDir := fs.String("data-dir", "", "the server's data directory: SQLite file and key file (env TWOFOLD_DATA_DIR)")
	serveBaseline := fs.Bool("serve-baseline", false, "internal: serve the baseline handler and print its URL")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *serveBaseline {
		return runBaseline(ctx, stdout)
	}
	sc, err := bench.ParseScenarios(*scenarios, *concurrency)
	if err != nil {
		return err
	}
	env := func(k string) string {
		switch {
		case k == "TWOFOLD_DATABASE" && *database != "":
			return *database
		case k == "TWOFOLD_DATA_DIR" && *dataDir != "":
			return *dataDir
		}
		return getenv(k)
	}
	cfg, err := config.Load("bench", nil, env, stderr)
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, useExisting)
	if err != nil {
		return err
	}
	keys, err := loadKeys(cfg, newLogger(cfg, stderr), useExisting)
	if err != nil {
		st.Close()
		return err
	}
	defer st.Close()
	seeder, ok := st.(bench.Seeder)
	if !ok {
		return errors.New("this store cannot seed users in bulk")
	}
	kind := "sqlite"
	if cfg.UsesPostgres() {
		kind = "postgres"
	}
	table, jsonW := stdout, io.Writer(nil)
	if *jsonOut == "-" {
		table, jsonW = stderr, stdout
	}
	rep, err := bench.Run(ctx, bench.Config{
		URL: *url, Scenarios: sc, Duration: *duration, Users: *users, FillerUsers: *filler,
		ServerPID: *pid, Database: kind, Seeder: seeder, Keys: keys, HashSamples: *samples,
		StartBaseline: startBaselineProcess, Log: stderr,
	})
	if err != nil {
		return err
	}
	if err := rep.WriteTable(table); err != nil {
		return err
	}
	if jsonW == nil && *jsonOut != "" {
		f, err := os.Create(*jsonOut)
		if err != nil {
			return err
		}
		defer f.Close()
		jsonW = f
	}
	if jsonW != nil {
		return rep.WriteJSON(jsonW)
	}
	return nil
}

// runBaseline serves the bare baseline handler on a free loopback port,
// prints its URL, and stops on a signal or when its parent closes stdin.
func runBaseline(ctx context.Context, stdout io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _, _ = io.Copy(io.Discard, os.Stdin); cancel() }()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "http://%s\n", ln.Addr())
	return bench.ServeBaseline(ctx, ln)
}

// startBaselineProcess runs the baseline in a child process of this same
// binary, so that, like the server, it has a Go runtime of its own.
func startBaselineProcess(ctx context.Context) (*bench.Baseline, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "bench", "--serve-baseline")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		stdin.Close()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		stop()
		return nil, fmt.Errorf("baseline process: %w", err)
	}
	return &bench.Baseline{URL: strings.TrimSpace(line), PID: cmd.Process.Pid, Stop: stop}, nil
}
