// Package accounttest builds a real account.Service for tests of the layers
// above it: a real SQLite file in the test's temp dir, a fixed server key, a
// cheap argon2id cost (same code path, less memory) and a clock the test moves.
package accounttest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/keyring"
	"github.com/twofold/twofold/internal/password"
	"github.com/twofold/twofold/internal/store/autocommit"
	"github.com/twofold/twofold/internal/store/postgres"
	"github.com/twofold/twofold/internal/store/postgres/pgtest"
	"github.com/twofold/twofold/internal/store/sqlite"
	"github.com/twofold/twofold/internal/totp"
)

// CheapPassword keeps tests fast; production uses password.OWASP.
var CheapPassword = password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Store is what tests reach behind the service: the account.Store and the
// outbox, which both implementations share.
type Store interface {
	account.Store
	Notifications(ctx context.Context, limit int) ([]*account.Notification, error)
	RowCounts(ctx context.Context) (map[string]int, error)
	Close() error
}

// Writes is the store's Tx, each write its own transaction, for setting
// up state behind the service's back.
func (e *Env) Writes() autocommit.Store { return autocommit.Wrap(e.Store) }

// Env is a service wired to real parts.
type Env struct {
	Service *account.Service
	Store   Store
	Keys    *keyring.Keyring
	Clock   *Clock
	DBPath  string // the SQLite file; "" on PostgreSQL
}

// New builds an Env on a SQLite file in the test's temp dir; change the
// policy with the optional functions.
func New(t testing.TB, opts ...func(*account.Policy)) *Env {
	t.Helper()
	path := filepath.Join(t.TempDir(), "twofold.db")
	store, err := OpenSQLite(path)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	env := NewOnStore(t, store, opts...)
	env.DBPath = path
	return env
}

// migrated is a SQLite database file as sqlite.Open leaves a new one (every
// migration applied, nothing else), made once per test process.
var migrated struct {
	once  sync.Once
	image []byte
	err   error
}

// OpenSQLite creates a fresh, migrated SQLite database file at path and
// opens it. The file is a copy of one that sqlite.Open created and migrated
// once for the whole test process: migrating a new file takes about 20
// times as long as copying one (a transaction and its fsync per
// migration), and tests open hundreds. The migrations themselves are
// tested in internal/store/sqlite, and by every test of the real binary.
func OpenSQLite(path string) (*sqlite.Store, error) {
	migrated.once.Do(func() {
		migrated.image, migrated.err = migratedImage()
	})
	if migrated.err != nil {
		return nil, migrated.err
	}
	if err := os.WriteFile(path, migrated.image, 0o600); err != nil {
		return nil, err
	}
	return sqlite.OpenExisting(context.Background(), path)
}

// migratedImage creates and migrates a database in a directory of its own,
// closes it and returns the file's bytes.
func migratedImage() ([]byte, error) {
	dir, err := os.MkdirTemp("", "twofold-accounttest")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "twofold.db")
	s, err := sqlite.Open(context.Background(), path)
	if err != nil {
		return nil, err
	}
	if err := s.Close(); err != nil {
		return nil, err
	}
	// Closing the last connection checkpoints the WAL into the file and
	// removes it; a WAL left behind would hold part of the schema.
	if info, err := os.Stat(path + "-wal"); err == nil && info.Size() > 0 {
		return nil, fmt.Errorf("accounttest: %s-wal holds %d bytes after closing the database; want it checkpointed", path, info.Size())
	}
	return os.ReadFile(path)
}

// PostgresDatabase is a fresh PostgreSQL database with twofold's schema,
// copied from a template that postgres.Open migrated (pgtest.Migrated: it
// skips the test when TWOFOLD_TEST_POSTGRES_DSN is unset), for tests that
// need a store, not a migration.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	return pgtest.Migrated(t, MigratePostgres)
}

// MigratePostgres applies twofold's migrations to the database at dsn and
// closes every connection it opened: the migrate of pgtest.Migrated.
func MigratePostgres(ctx context.Context, dsn string) error {
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	return s.Close()
}

// NewPostgres builds an Env on a fresh PostgreSQL database
// (PostgresDatabase).
func NewPostgres(t testing.TB, opts ...func(*account.Policy)) *Env {
	t.Helper()
	store, err := postgres.Open(context.Background(), PostgresDatabase(t))
	if err != nil {
		t.Fatalf("open PostgreSQL store: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return NewOnStore(t, store, opts...)
}

// StoreEnvVar chooses the store of NewFromEnv: "postgres" for PostgreSQL
// (on the server named by TWOFOLD_TEST_POSTGRES_DSN), anything else SQLite.
const StoreEnvVar = "TWOFOLD_TEST_STORE"

// NewFromEnv is New, or NewPostgres when TWOFOLD_TEST_STORE=postgres: the
// same tests then show that PostgreSQL accepts what SQLite does (it refuses
// text SQLite stores, such as NUL or invalid UTF-8).
func NewFromEnv(t testing.TB, opts ...func(*account.Policy)) *Env {
	t.Helper()
	if os.Getenv(StoreEnvVar) == "postgres" {
		return NewPostgres(t, opts...)
	}
	return New(t, opts...)
}

// NoThrottles lifts every throttle, for tests (fuzzers) that must keep
// reaching the code behind them.
func NoThrottles(p *account.Policy) {
	p.CodeAttempts = 1 << 30
	p.PasswordAttempts = 1 << 30
	p.PasswordIPAttempt = 1 << 30
	p.SignUpAttempts = 1 << 30
	p.SignUpPerEmail = 1 << 30
	p.SignUpConfirmAttempts = 1 << 30
}

// NewOnStore builds an Env around store.
func NewOnStore(t testing.TB, store Store, opts ...func(*account.Policy)) *Env {
	t.Helper()
	ctx := context.Background()
	keys, err := keyring.New(bytes.Repeat([]byte{0x42}, keyring.KeySize), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	policy := account.DefaultPolicy()
	// Most tests sign people up on their own; the invitation tests turn it off.
	policy.OpenSignUp = true
	for _, o := range opts {
		o(&policy)
	}
	// Start at the beginning of a 30-second step so tests can reason about steps.
	clock := NewClock(time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC))
	svc, err := account.NewService(ctx, account.Options{
		Store:  store,
		Keys:   keys,
		Hasher: password.NewHasher(CheapPassword, rand.Reader, 4, 64, 10*time.Second),
		Policy: policy,
		Now:    clock.Now,
		SignUpLink: func(token string) string {
			return LinkBase + "?token=" + token
		},
		InvitationLink: func(token string) string {
			return InviteBase + "?token=" + token
		},
		RecoveryCancelLink: func(token string) string {
			return CancelBase + "?token=" + token
		},
		DisavowLink: func(token string) string {
			return DisavowBase + "?token=" + token
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Service: svc, Store: store, Keys: keys, Clock: clock}
}

// LinkBase is where the sign-up links an Env mails point, InviteBase its
// invitations.
const (
	LinkBase   = "https://twofold.test/signup/confirm"
	InviteBase = "https://twofold.test/invite"
	CancelBase = "https://twofold.test/recovery/cancel"
	// DisavowBase is where the "This wasn't me" links of security emails point.
	DisavowBase = "https://twofold.test/this-wasnt-me"
)

// Outbox is where a test reads the messages a service queued: both stores
// implement it.
type Outbox interface {
	Notifications(ctx context.Context, limit int) ([]*account.Notification, error)
}

// linkToken matches the token of a sign-up link in a message body.
var linkToken = regexp.MustCompile(`[?&]token=([A-Za-z0-9_-]+)`)

// SignUpToken returns the token of the newest sign-up link mailed to email,
// read from the outbox the way an operator or the SMTP sender would; ok is
// false when there is none.
func SignUpToken(ctx context.Context, outbox Outbox, email string) (token string, ok bool, err error) {
	msgs, err := outbox.Notifications(ctx, 1000)
	if err != nil {
		return "", false, err
	}
	var newest *account.Notification
	for _, n := range msgs {
		if n.Kind == account.NotificationSignUpLink && strings.EqualFold(n.Recipient, email) && (newest == nil || n.ID > newest.ID) {
			newest = n
		}
	}
	if newest == nil {
		return "", false, nil
	}
	token, ok = LinkToken(newest.Body)
	if !ok {
		return "", false, fmt.Errorf("message %d has no sign-up link: %q", newest.ID, newest.Body)
	}
	return token, true, nil
}

// LinkToken returns the token of the sign-up link in text (a message body,
// the output of twofold outbox show).
func LinkToken(text string) (string, bool) {
	m := linkToken.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// SignUpLink is SignUpToken for the test's goroutine: the token of the
// newest link mailed to email, or the test fails.
func (e *Env) SignUpLink(t testing.TB, email string) string {
	t.Helper()
	token, ok, err := SignUpToken(context.Background(), e.Store, email)
	if err != nil || !ok {
		t.Fatalf("sign-up link for %s: ok=%v, %v", email, ok, err)
	}
	return token
}

// SignUp signs a user up the way a person does: StartSignUp, the link from
// the outbox, then ConfirmSignUp with the same password. It returns the new
// user and a signed-in session token.
func (e *Env) SignUp(t testing.TB, in account.SignUpInput, c account.Client) (*account.User, string) {
	t.Helper()
	ctx := context.Background()
	if err := e.Service.StartSignUp(ctx, in, c); err != nil {
		t.Fatalf("StartSignUp(%s): %v", in.Email, err)
	}
	email, _ := account.NormalizeEmail(in.Email)
	token := e.SignUpLink(t, email)
	u, session, err := e.Service.ConfirmSignUp(ctx, account.ConfirmSignUpInput{Token: token, Password: in.Password}, c)
	if err != nil {
		t.Fatalf("ConfirmSignUp(%s): %v", in.Email, err)
	}
	return u, session
}

// Code returns the TOTP code for the base32 secret at the clock's time.
func (e *Env) Code(t testing.TB, secretBase32 string) string {
	t.Helper()
	secret, err := totp.DecodeSecret(secretBase32)
	if err != nil {
		t.Fatalf("decode secret %q: %v", secretBase32, err)
	}
	return totp.Code(secret, e.Clock.Now())
}

// LogBuffer collects what a logger writes, safe for the handler's
// goroutines to write while the test reads.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Reset forgets what was written so far.
func (b *LogBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.Reset()
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Sessions are session tokens of accounts in each state that the layers
// above the service must handle.
type Sessions struct {
	Plain     string // signed in, 2FA off, a setup begun
	TwoFA     string // signed in, 2FA on
	Pending   string // password done, code not
	Suspended string // password done, authenticator suspended
}

// SessionsInEveryState signs up plain@, twofa@, pending@ and suspended@
// example.com with password (a mobile number each) and brings each to its
// state. Suspension needs the policy's default SuspendAfter, or any.
func (e *Env) SessionsInEveryState(t testing.TB, password string, c account.Client) Sessions {
	t.Helper()
	ctx := context.Background()
	signUp := func(email string) (string, *account.Session) {
		_, token := e.SignUp(t, account.SignUpInput{Email: email, Password: password, Name: "Fuzz", MobilePhone: "+61412345678"}, c)
		sess, err := e.Service.Authenticate(ctx, token)
		if err != nil {
			t.Fatalf("Authenticate = %v", err)
		}
		return token, sess
	}
	enroll := func(sess *account.Session) {
		setup, err := e.Service.BeginTOTPSetup(ctx, sess)
		if err != nil {
			t.Fatalf("BeginTOTPSetup = %v", err)
		}
		if err := e.Service.EnableTOTP(ctx, sess, e.Code(t, setup.Secret), c); err != nil {
			t.Fatalf("EnableTOTP = %v", err)
		}
	}
	pending := func(email string) string {
		token, stage, err := e.Service.SignIn(ctx, account.SignInInput{Email: email, Password: password}, c)
		if err != nil || stage != account.StageSecondFactor {
			t.Fatalf("SignIn(%s) = %q, %v; want a pending sign-in", email, stage, err)
		}
		return token
	}
	var s Sessions
	var sess *account.Session
	s.Plain, sess = signUp("plain@example.com")
	if _, err := e.Service.BeginTOTPSetup(ctx, sess); err != nil {
		t.Fatalf("BeginTOTPSetup = %v", err)
	}
	s.TwoFA, sess = signUp("twofa@example.com")
	enroll(sess)
	_, sess = signUp("pending@example.com")
	enroll(sess)
	s.Pending = pending("pending@example.com")
	_, sess = signUp("suspended@example.com")
	enroll(sess)
	s.Suspended = pending("suspended@example.com")
	for range 1000 { // wrong codes in a row until Policy.SuspendAfter
		if _, err := e.Service.SubmitSecondFactor(ctx, s.Suspended, "000000", c); !errors.Is(err, account.ErrInvalidCode) {
			break
		}
	}
	return s
}

// WrongCode returns a 6-digit code that matches none of the secret's codes
// within ten minutes of the clock, so a test can rely on it being refused
// as a plain wrong code (not one of a phone whose clock is off).
func (e *Env) WrongCode(t testing.TB, secretBase32 string) string {
	t.Helper()
	secret, err := totp.DecodeSecret(secretBase32)
	if err != nil {
		t.Fatalf("decode secret %q: %v", secretBase32, err)
	}
	near := map[string]bool{}
	for i := -20; i <= 20; i++ {
		near[totp.Code(secret, e.Clock.Now().Add(time.Duration(i)*totp.Period))] = true
	}
	for _, c := range []string{"000000", "111111", "222222", "333333", "444444", "555555"} {
		if !near[c] {
			return c
		}
	}
	t.Fatal("no wrong code found")
	return ""
}

// ChildGORACE returns the GORACE options for the race-built twofold
// processes a test starts: gorace (the test's own GORACE) plus two that
// change how fast the race detector works, never what it finds.
//
//   - atexit_sleep_ms=50: before exiting, a race-built process sleeps (1 s
//     by default) in case another thread is still writing a race report.
//     50 ms is ample for that, and a race found still makes the process
//     exit 66; the tests wait for dozens of servers and commands to exit.
//   - clear_shadow_mmap_threshold=64 MiB: the detector resets the shadow
//     of a range larger than this (64 KiB by default) by mapping its pages
//     afresh, so they fault in again on the next use. Every password hash
//     allocates and frees a 19 MiB argon2id array, which made each hash
//     spend as long in the kernel as in the hash itself; below the
//     threshold the shadow is cleared with memset instead.
func ChildGORACE(gorace string) string {
	return strings.TrimSpace(gorace + " atexit_sleep_ms=50 clear_shadow_mmap_threshold=67108864")
}

// RaceBuildFlags are the go build flags of the race-built twofold binary a
// test starts. The race detector is on for every package; the
// unsafe-pointer checks that -race also turns on (-d=checkptr) are turned
// off in modernc.org's packages only: SQLite translated from C, whose
// pointer arithmetic they check at every step of every statement (a
// quarter to a third of the CPU of a race build that uses SQLite, in
// profiles of the account tests), and which is not twofold's code. Every
// twofold package keeps them.
var RaceBuildFlags = []string{"-race", "-gcflags=modernc.org/...=-d=checkptr=0"}

// WaitUntil waits for cond, at most 20 s, and reports whether it held:
// for a test that needs something to have happened, however busy the
// machine, instead of sleeping for a guess.
func WaitUntil(cond func() bool) bool {
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// MoreParallel raises -test.parallel to perCore tests per core unless the
// command line set it: for test binaries whose tests spend most of their
// time waiting on the processes they start (servers, a browser), not
// computing. Call it from TestMain after flag.Parse.
func MoreParallel(perCore int) {
	given := false
	flag.Visit(func(f *flag.Flag) { given = given || f.Name == "test.parallel" })
	if !given {
		flag.Set("test.parallel", strconv.Itoa(perCore*runtime.GOMAXPROCS(0)))
	}
}
