// Package cli is the twofold command line: serve, migrate and the operator's
// user commands. Wiring of the parts happens here and nowhere else.
package cli

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/config"
	"github.com/twofold/twofold/internal/keyring"
	"github.com/twofold/twofold/internal/metrics"
	"github.com/twofold/twofold/internal/notify"
	"github.com/twofold/twofold/internal/password"
	"github.com/twofold/twofold/internal/store/postgres"
	"github.com/twofold/twofold/internal/store/schema"
	"github.com/twofold/twofold/internal/store/sqlite"
	"github.com/twofold/twofold/internal/web"
)

const usage = `twofold: accounts with two-factor authentication

Usage:
  twofold serve [flags]              run the service (see twofold serve -h)
  twofold migrate [flags]            apply database migrations and exit
  twofold bench [flags]              load-test a running server (see twofold bench -h)
  twofold user list [flags]          list accounts and whether 2FA is on
  twofold user invite EMAIL [--admin] [flags]
                                     invite someone (an administrator with --admin):
                                     prints the link and queues the mail
  twofold user verify-phone EMAIL [flags]
                                     text a code to the user's mobile number and
                                     check the one they read back to you
  twofold user reset-2fa EMAIL [--reason TEXT] [flags]
                                     turn 2FA off for a user who lost their phone
                                     and backup codes: after verify-phone (within
                                     15 minutes), or with the reason you are sure
                                     it is them (recorded in their activity)
  twofold outbox list [flags]        messages queued for users (security notices,
                                     sign-up links), sent or not
  twofold outbox show ID [flags]     one message in full, to pass on by hand
                                     when no SMTP server is configured
  twofold backup FILE [flags]        copy the SQLite database to FILE while the
                                     server runs (PostgreSQL: use pg_dump)
  twofold oidc client add --name NAME --redirect-uri URI [--public]
                      [--require-two-factor] [--post-logout-redirect-uri URI]
                                     register an app with the OpenID provider:
                                     prints client_id: and client_secret:
  twofold oidc client list | remove CLIENT_ID | rotate-secret CLIENT_ID
  twofold oidc keys rotate           new ID-token signing keys (the old ones stay
                                     published for a day)

Every command takes -h for its flags.
`

// Run runs the command in args (without the program name) and returns the
// process exit status.
// stdin is read by the commands that ask the operator something (user
// verify-phone).
func Run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(ctx, args[1:], getenv, stderr)
	case "migrate":
		err = migrate(ctx, args[1:], getenv, stdout, stderr)
	case "user":
		err = user(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "bench":
		err = benchCmd(ctx, args[1:], getenv, stdout, stderr)
	case "outbox":
		err = outbox(ctx, args[1:], getenv, stdout, stderr)
	case "backup":
		err = backup(ctx, args[1:], getenv, stdout, stderr)
	case "oidc":
		err = oidcCmd(ctx, args[1:], getenv, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "twofold: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0 // -h or --help: the flag set printed the help
	}
	if err != nil {
		fmt.Fprintf(stderr, "twofold %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// store is what the CLI needs of a database beyond account.Store.
type store interface {
	account.Store
	notify.Store
	Notifications(ctx context.Context, limit int) ([]*account.Notification, error)
	Notification(ctx context.Context, id int64) (*account.Notification, error)
	Ping(ctx context.Context) error
	OutboxBacklog(ctx context.Context, maxAttempts int) ([]account.OutboxBacklog, error)
	Close() error
}

// app is the wired service and what must be closed with it.
type app struct {
	cfg     config.Config
	log     *slog.Logger
	store   store
	service *account.Service
	metrics *metrics.Metrics // nil unless serve has --metrics-addr
	// wake, set by serve before it serves, sends the outbox at once.
	wake func()
}

// queued is the service's Options.Queued: serve's outbox worker, woken.
func (a *app) queued() {
	if a.wake != nil {
		a.wake()
	}
}

func (a *app) Close() error { return a.store.Close() }

// setUp says whether a command may create what is missing: serve and
// migrate create the database (and serve the server key) and apply
// migrations; every other command uses what is there, as it is.
type setUp bool

const (
	createAndMigrate setUp = true
	useExisting      setUp = false
)

// openStore opens PostgreSQL for a postgres:// URL and SQLite otherwise.
// With useExisting it creates and migrates nothing and says plainly what
// is missing or out of date.
func openStore(ctx context.Context, cfg config.Config, mode setUp) (store, error) {
	if mode == useExisting {
		var st store
		var err error
		if cfg.UsesPostgres() {
			st, err = postgres.OpenExisting(ctx, cfg.Database)
		} else {
			st, err = sqlite.OpenExisting(ctx, cfg.Database)
		}
		var version *schema.VersionError
		switch {
		case errors.Is(err, schema.ErrNoDatabase):
			return nil, fmt.Errorf("no twofold database at %s: start `twofold serve` there, or pass --data-dir / --database", cfg.DatabaseForDisplay())
		case errors.As(err, &version):
			return nil, fmt.Errorf("%s: %w", cfg.DatabaseForDisplay(), err)
		}
		return st, err
	}
	if cfg.UsesPostgres() {
		return postgres.Open(ctx, cfg.Database)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	return sqlite.Open(ctx, cfg.Database)
}

// loadKeys reads the server key (TWOFOLD_SECRET_KEY or the key file); with
// createAndMigrate it creates the key file when there is none.
func loadKeys(cfg config.Config, log *slog.Logger, mode setUp) (*keyring.Keyring, error) {
	var master []byte
	if cfg.SecretKey != "" {
		k, err := keyring.ParseKey(cfg.SecretKey)
		if err != nil {
			return nil, fmt.Errorf("TWOFOLD_SECRET_KEY: %w", err)
		}
		master = k
	} else if mode == useExisting {
		k, err := keyring.LoadFile(cfg.DataDir)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no server key at %s: set TWOFOLD_SECRET_KEY to the key `twofold serve` uses, or pass its --data-dir", filepath.Join(cfg.DataDir, keyring.FileName))
		}
		if err != nil {
			return nil, err
		}
		master = k
	} else {
		k, created, err := keyring.LoadOrCreateFile(cfg.DataDir, rand.Reader)
		if err != nil {
			return nil, err
		}
		if created {
			log.Warn("created a new server key; back it up: without it no TOTP secret or backup code can be checked",
				"path", cfg.DataDir+string(os.PathSeparator)+keyring.FileName)
		}
		master = k
	}
	return keyring.New(master, rand.Reader)
}

// splitPositional separates the positional arguments, which come first
// (user reset-2fa EMAIL --flags), from the flags.
func splitPositional(args []string) (positional, flags []string) {
	for len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		positional = append(positional, args[0])
		args = args[1:]
	}
	return positional, args
}

func newApp(ctx context.Context, name string, mode setUp, args []string, getenv func(string) string, stderr io.Writer) (*app, []string, error) {
	positional, args := splitPositional(args)
	cfg, err := config.Load(name, args, getenv, stderr)
	if err != nil {
		return nil, nil, err
	}
	log := newLogger(cfg, stderr)
	// The database first: in a mistyped --data-dir it says what is wrong
	// before a key could be looked for.
	store, err := openStore(ctx, cfg, mode)
	if err != nil {
		return nil, nil, err
	}
	keys, err := loadKeys(cfg, log, mode)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	policy := account.DefaultPolicy()
	policy.Issuer = cfg.Issuer
	policy.PhoneRegion = strings.ToUpper(cfg.PhoneRegion)
	policy.TOTPSkew = cfg.TOTPSkew
	policy.OpenSignUp = cfg.SignUp == config.SignUpOpen
	policy.RememberDevice = time.Duration(cfg.RememberDeviceDays) * 24 * time.Hour
	// Whether the instances that send the outbox send texts: serve sends
	// them, and the other commands share its environment.
	policy.TextMessages = cfg.SendsText()
	policy.RedirectHosts = cfg.RedirectHosts()
	policy.AuthzCache = time.Duration(cfg.AuthzCacheMS) * time.Millisecond
	hasher := password.NewHasher(password.OWASP, rand.Reader, cfg.HashConcurrency, 16*cfg.HashConcurrency, 5*time.Second)
	opts := account.Options{
		Store: store, Keys: keys, Hasher: hasher, Policy: policy, Logger: log,
		SignUpLink:         web.SignUpLink(strings.TrimRight(cfg.BaseURL, "/")),
		InvitationLink:     web.InvitationLink(strings.TrimRight(cfg.BaseURL, "/")),
		RecoveryCancelLink: web.RecoveryCancelLink(strings.TrimRight(cfg.BaseURL, "/")),
		DisavowLink:        web.DisavowLink(strings.TrimRight(cfg.BaseURL, "/")),
	}
	var m *metrics.Metrics
	if name == "serve" && cfg.MetricsAddr != "" {
		m = metrics.New()
		m.WatchHasher(hasher)
		switch st := store.(type) {
		case *sqlite.Store:
			m.WatchSQLite(st.Pools())
		case *postgres.Store:
			m.WatchPostgres(st.Pool())
		}
		opts.Store, opts.Observer = m.Store(store), m
	}
	a := &app{cfg: cfg, log: log, store: store, metrics: m}
	opts.Queued = a.queued
	svc, err := account.NewService(ctx, opts)
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	a.service = svc
	return a, positional, nil
}

func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := config.Load("migrate", args, getenv, stderr)
	if err != nil {
		return err
	}
	// Opening with createAndMigrate applies pending migrations.
	store, err := openStore(ctx, cfg, createAndMigrate)
	if err != nil {
		return err
	}
	defer store.Close()
	fmt.Fprintf(stdout, "database %s is up to date\n", cfg.DatabaseForDisplay())
	return nil
}
