package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/twofold/twofold/internal/keyring"
	"github.com/twofold/twofold/internal/password"
)

// Policy holds the tunable security rules. DefaultPolicy is what the issue
// and the brief ask for; operators change a few through config.
type Policy struct {
	Issuer string // shown in authenticator apps
	// TOTPSkew is how many 30-second steps before and after now are accepted.
	TOTPSkew int

	PendingSignInTTL  time.Duration // password done, code not yet
	SessionIdle       time.Duration
	SessionAbsolute   time.Duration
	RecentAuth        time.Duration // sensitive changes need a password this recent
	TouchInterval     time.Duration // how stale last_seen may get before a write
	CodeAttempts      int           // failed second-factor attempts per account...
	CodeWindow        time.Duration // ...per this window
	SuspendAfter      int           // wrong codes in a row that suspend the authenticator
	PasswordAttempts  int           // failed passwords per account...
	PasswordIPAttempt int           // ...and per client IP...
	PasswordWindow    time.Duration // ...per this window
	SignUpAttempts    int           // sign-ups per client IP...
	SignUpWindow      time.Duration // ...per this window
	// SignUpLinkTTL is how long a mailed sign-up link works, and
	// SignUpConfirmAttempts how many wrong passwords it takes meanwhile.
	SignUpLinkTTL         time.Duration
	SignUpConfirmAttempts int
	// SignUpPerEmail caps the messages one address receives from sign-ups
	// per SignUpWindow, so the service cannot be used to flood an inbox.
	// Beyond it sign-ups get the usual answer and nothing is sent.
	SignUpPerEmail int
	// OpenSignUp lets anyone sign up with a confirmed email; without it
	// accounts are made by invitation only.
	OpenSignUp bool
	// InvitationTTL is how long an invitation works, SetupLinkTTL the
	// first administrator's setup link.
	InvitationTTL   time.Duration
	SetupLinkTTL    time.Duration
	BackupCodeCount int
	PhoneRegion     string // region for numbers typed without +country code; "" requires +
	// RememberDevice is how long a device remembered at the code step
	// skips that step; zero turns the feature off.
	RememberDevice time.Duration
	// DisavowLinkTTL is how long the "This wasn't me" link of a security
	// email works (DefaultDisavowLinkTTL when zero).
	DisavowLinkTTL time.Duration
	EventsShown    int
	// TextMessages is true when an SMS sender is configured: a queued
	// ChannelSMS notification is then delivered. Without it texts wait in
	// the outbox for the operator, so a rule that needs a code to reach a
	// phone must offer another way.
	TextMessages bool
	// RedirectHosts are host patterns ("auth.example.com",
	// "*.example.com") a browser may be sent back to after signing in or
	// out (SafeRedirect), besides the hosts of the protected apps:
	// twofold's own and --allowed-redirect-hosts.
	RedirectHosts []string
	// AuthzCache, when set, lets a forward-auth check use what a check of
	// the same session read at most this long ago (at most
	// MaxAuthzCache): a change made on another instance then decides
	// every check within AuthzCache, instead of at once. Zero (the
	// default): every check reads the store.
	AuthzCache time.Duration
}

// DefaultPolicy returns the product's defaults.
func DefaultPolicy() Policy {
	return Policy{
		Issuer:           "twofold",
		TOTPSkew:         1,
		PendingSignInTTL: 5 * time.Minute,
		SessionIdle:      30 * time.Minute,
		SessionAbsolute:  12 * time.Hour,
		RecentAuth:       10 * time.Minute,
		TouchInterval:    time.Minute,
		CodeAttempts:     10,
		CodeWindow:       15 * time.Minute,
		// 30 wrong codes, each matching one of 3 codes (±1 step) with
		// probability 3 in a million, bound an attacker's chance at 9 in
		// 100,000 until the user or an operator acts (SECURITY.md).
		SuspendAfter:      30,
		PasswordAttempts:  20,
		PasswordIPAttempt: 100,
		PasswordWindow:    15 * time.Minute,
		SignUpAttempts:    20,
		SignUpWindow:      time.Hour,
		SignUpLinkTTL:     time.Hour,
		// A link is mailed to the address's owner, who chose the password:
		// a few typos are allowed, not a search.
		SignUpConfirmAttempts: 5,
		SignUpPerEmail:        3,
		BackupCodeCount:       10,
		InvitationTTL:         7 * 24 * time.Hour,
		SetupLinkTTL:          24 * time.Hour,
		EventsShown:           20,
		RememberDevice:        30 * 24 * time.Hour,
		DisavowLinkTTL:        DefaultDisavowLinkTTL,
	}
}

// Service carries out every account operation. Handlers call it; it calls the Store.
type Service struct {
	store  Store
	keys   *keyring.Keyring
	hasher *password.Hasher
	policy Policy
	now    func() time.Time
	random io.Reader
	log    *slog.Logger
	// observe hears the outcome of each sign-in step and each throttled
	// attempt, for metrics.
	observe Observer

	// apps is this instance's copy of the protected apps (authz.go).
	apps appsCache
	// authz is the forward-auth checks' cache of their read, nil when
	// Policy.AuthzCache is zero (authz_cache.go).
	authz *decisionCache

	// signingKeys are the OpenID provider's keys opened so far, by id
	// (oidc.go): a key never changes once stored.
	signingMu   sync.Mutex
	signingKeys map[string]*SigningKey

	dummyHash string // verified for unknown emails so timing does not tell
	linkFor   func(token string) string
	inviteFor func(token string) string
	cancelFor func(token string) string
	queued    func()
	// disavowFor writes the "This wasn't me" link of a security email.
	disavowFor func(token string) string
}

// Options are the dependencies of a Service. Now and Random default to the
// real clock and crypto/rand; tests inject their own.
type Options struct {
	Store  Store
	Keys   *keyring.Keyring
	Hasher *password.Hasher
	Policy Policy
	Now    func() time.Time
	Random io.Reader
	Logger *slog.Logger
	// Observer hears sign-in outcomes and throttling, for metrics; nil
	// for none.
	Observer Observer
	// SignUpLink turns a sign-up token into the address mailed to the user
	// (the public base URL, the page and the token). Required.
	SignUpLink func(token string) string
	// InvitationLink turns an invitation token into the address an invited
	// person opens. Required.
	InvitationLink func(token string) string
	// RecoveryCancelLink turns a recovery's cancel token into the address
	// of its "Cancel this recovery" link, mailed when a self-recovery
	// starts.
	RecoveryCancelLink func(token string) string
	// Queued is told, after the commit, when a use case queued a message
	// someone is waiting for (a texted code, a sign-up link), so that the
	// outbox is sent at once instead of at its next round; nil for none.
	Queued func()
	// DisavowLink turns the token of a security email's "This wasn't me"
	// link into its address. Required.
	DisavowLink func(token string) string
}

// NewService builds a Service. It hashes one dummy password at start-up.
func NewService(ctx context.Context, o Options) (*Service, error) {
	s := &Service{store: o.Store, keys: o.Keys, hasher: o.Hasher, policy: o.Policy, now: o.Now, random: o.Random, log: o.Logger, linkFor: o.SignUpLink}
	s.observe = o.Observer
	s.authz = newDecisionCache(o.Policy.AuthzCache)
	if s.observe == nil {
		s.observe = noObserver{}
	}
	s.inviteFor, s.disavowFor = o.InvitationLink, o.DisavowLink
	s.cancelFor = o.RecoveryCancelLink
	s.queued = o.Queued
	if s.queued == nil {
		s.queued = func() {}
	}
	if s.cancelFor == nil {
		s.cancelFor = func(token string) string { return "/recovery/cancel?token=" + token }
	}
	if s.linkFor == nil || s.inviteFor == nil || s.disavowFor == nil {
		return nil, errors.New("account: Options.SignUpLink, Options.InvitationLink and Options.DisavowLink are required")
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.random == nil {
		s.random = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	dummy := make([]byte, 18)
	if _, err := io.ReadFull(s.random, dummy); err != nil {
		return nil, fmt.Errorf("account: dummy password: %w", err)
	}
	hash, err := s.hasher.Hash(ctx, base64.RawStdEncoding.EncodeToString(dummy))
	if err != nil {
		return nil, fmt.Errorf("account: dummy hash: %w", err)
	}
	s.dummyHash = hash
	return s, nil
}

// Now is the service's clock, for pages that show a date.
func (s *Service) Now() time.Time { return s.now() }

// Policy returns the rules in force (pages show some of them).
func (s *Service) Policy() Policy { return s.policy }

// hashToken is how a session token is stored: a 256-bit random token needs
// no salt or slow hash, only that the database alone cannot be replayed.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func (s *Service) newToken() (string, error) {
	b := make([]byte, 32)
	if _, err := io.ReadFull(s.random, b); err != nil {
		return "", fmt.Errorf("account: session token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// writeTimeout bounds a use case's transaction once it has started: it
// runs detached from the request's cancellation, so a client that gives up
// in the last milliseconds gets all of the change or none of it, never a
// change without its record, and a stuck database still gives up.
const writeTimeout = 15 * time.Second

// writeGrace is how long a use case's transaction may outlast its
// request's deadline, so that one started just before it still finishes
// and is answered.
const writeGrace = 2 * time.Second

// write runs fn as the use case's one transaction.
func (s *Service) write(ctx context.Context, fn func(ctx context.Context, tx Tx) error) error {
	timeout := writeTimeout
	if deadline, ok := ctx.Deadline(); ok {
		// Real time, like the deadline: not the injected clock.
		timeout = min(timeout, max(time.Until(deadline), 0)+writeGrace)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	// Whatever it changed, no forward-auth check of this instance decides
	// by what was read before it (authz_cache.go).
	defer s.authz.changed()
	return s.store.InTx(ctx, fn)
}

// event is an entry of the activity log, from client c, now.
func (s *Service) event(userID int64, kind EventKind, detail string, c Client) *Event {
	return &Event{UserID: userID, Kind: kind, Detail: detail, IP: c.IP, UserAgent: truncate(c.UserAgent, 200), CreatedAt: s.now()}
}

// record appends an event to the activity log inside the use case's
// transaction: it commits with the change it describes, or not at all.
func (s *Service) record(ctx context.Context, tx Tx, userID int64, kind EventKind, detail string, c Client) error {
	if err := tx.AddEvent(ctx, s.event(userID, kind, detail, c)); err != nil {
		return fmt.Errorf("account: record %s: %w", kind, err)
	}
	return nil
}

// recordFailure writes the record of a failed attempt (a wrong password or
// code), which is the whole of that use case's change. A failure to write
// it does not change the answer; it is reported to the operator.
func (s *Service) recordFailure(ctx context.Context, fn func(ctx context.Context, tx Tx) error) {
	if err := s.write(ctx, fn); err != nil {
		s.log.ErrorContext(ctx, "record failed attempt", "err", err)
	}
}

// ipKey is how a client address is counted by per-IP throttles: IPv4 as
// is, IPv6 by its /64, the block one subscriber is usually given, so that
// stepping through addresses within it does not buy new attempts.
func ipKey(ip string) string {
	addr, err := netip.ParseAddr(ip)
	if err != nil || !addr.Is6() || addr.Is4In6() {
		return ip
	}
	prefix, err := addr.WithZone("").Prefix(64)
	if err != nil {
		return ip
	}
	return prefix.String()
}

// truncate makes client-supplied text safe to store in any database: valid
// UTF-8 (a User-Agent header may be any bytes), no NUL (PostgreSQL refuses
// it in text), and at most n bytes, cut on a character boundary.
func truncate(s string, n int) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func mapHasherErr(err error) error {
	switch {
	case errors.Is(err, password.ErrBusy), errors.Is(err, context.DeadlineExceeded):
		return ErrBusy
	case errors.Is(err, password.ErrMismatch):
		return ErrWrongPassword
	}
	return err
}

// reserve records one attempt under every limit, all or none, in a
// transaction of its own that commits before the attempt is evaluated, so
// parallel guesses stay bounded; or returns a *ThrottledError. A success
// releases its reservations inside its own transaction (releaseAttempts),
// so only failures stay counted.
func (s *Service) reserve(ctx context.Context, limits ...AttemptLimit) ([]int64, error) {
	now := s.now()
	ids, refused, oldest, err := s.store.ReserveAttempts(ctx, now, limits)
	if err != nil {
		// The keys (an email, an IP) stay out of the message: it is logged.
		return nil, fmt.Errorf("account: throttle: %w", err)
	}
	if refused >= 0 {
		s.observe.Throttled(limits[refused].Kind)
		retry := oldest.Add(limits[refused].Window).Sub(now)
		if retry < time.Second {
			retry = time.Second
		}
		return nil, &ThrottledError{RetryAfter: retry, key: limits[refused].Key}
	}
	return ids, nil
}

// releaseAttempts gives reservations back inside tx.
func releaseAttempts(ctx context.Context, tx Tx, ids []int64) error {
	for _, id := range ids {
		if err := tx.ReleaseAttempt(ctx, id); err != nil {
			return fmt.Errorf("account: release throttle attempt: %w", err)
		}
	}
	return nil
}

// giveBack releases reservations whose attempt was never evaluated (the
// hashers were busy, the database failed), in a transaction of its own;
// a failure only leaves them counted until they age out.
func (s *Service) giveBack(ctx context.Context, ids []int64) {
	if len(ids) == 0 {
		return
	}
	if err := s.write(ctx, func(ctx context.Context, tx Tx) error { return releaseAttempts(ctx, tx, ids) }); err != nil {
		s.log.ErrorContext(ctx, "release throttle attempts", "err", err)
	}
}

// Throttle keys and their limits.
func (s *Service) passwordIPLimit(ip string) AttemptLimit {
	return AttemptLimit{Kind: "password_ip", Key: "password:ip:" + ipKey(ip), Limit: s.policy.PasswordIPAttempt, Window: s.policy.PasswordWindow}
}

func (s *Service) passwordAccountLimit(email string) AttemptLimit {
	return AttemptLimit{Kind: "password_account", Key: "password:email:" + email, Limit: s.policy.PasswordAttempts, Window: s.policy.PasswordWindow}
}

func (s *Service) codeLimit(userID int64) AttemptLimit {
	return AttemptLimit{Kind: "code", Key: fmt.Sprintf("code:user:%d", userID), Limit: s.policy.CodeAttempts, Window: s.policy.CodeWindow}
}
