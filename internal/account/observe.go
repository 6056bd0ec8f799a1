package account

import (
	"errors"
	"time"

	"github.com/twofold/twofold/internal/totp"
)

// Observer is told what the service decided, for metrics. It hears kinds
// and outcomes only, never who, from where, or what was typed, so nothing
// it is given can become a label that holds an email, an IP or a code.
// Its methods must be cheap and safe for concurrent use.
type Observer interface {
	// SignInStep is called once per sign-in step that reached the service.
	SignInStep(step SignInStep, outcome SignInOutcome)
	// Throttled is called when an attempt is refused by a limit, named by
	// AttemptLimit.Kind.
	Throttled(limit string)
}

// SignInStep names a sign-in step for an Observer.
type SignInStep string

// The sign-in steps. The code step is told apart by what was sent: a
// 6-digit authenticator code, a backup code, or something that is neither.
const (
	StepPassword   SignInStep = "password"
	StepTOTP       SignInStep = "totp"
	StepBackupCode SignInStep = "backup_code"
	StepCode       SignInStep = "code" // the code step, when the code is malformed
)

// SignInOutcome is how a sign-in step ended.
type SignInOutcome string

// The outcomes of a sign-in step.
const (
	OutcomeOK        SignInOutcome = "ok"
	OutcomeWrong     SignInOutcome = "wrong"     // wrong password or code (also a malformed code)
	OutcomeReplayed  SignInOutcome = "replayed"  // a right authenticator code already used
	OutcomeThrottled SignInOutcome = "throttled" // refused by a limit before it was checked
	OutcomeBusy      SignInOutcome = "busy"      // the password hashers were saturated
	OutcomeSuspended SignInOutcome = "suspended" // authenticator codes suspended after wrong codes in a row
	OutcomeExpired   SignInOutcome = "expired"   // the pending sign-in or the session was gone
	OutcomeStale     SignInOutcome = "stale"     // the account changed under the step; nothing counted
	OutcomeError     SignInOutcome = "error"     // the database or another part failed
)

// errCodeReplayed is the ErrInvalidCode of a right authenticator code that
// was already used: the user is told the same, metrics tell them apart.
var errCodeReplayed = &replayedError{}

type replayedError struct{}

func (*replayedError) Error() string { return ErrInvalidCode.Error() + " (already used)" }
func (*replayedError) Unwrap() error { return ErrInvalidCode }

type noObserver struct{}

func (noObserver) SignInStep(SignInStep, SignInOutcome) {}
func (noObserver) Throttled(string)                     {}

// codeStep says which kind of code was sent, without checking it.
func codeStep(code string) SignInStep {
	if _, err := totp.NormalizeCode(code); err == nil {
		return StepTOTP
	}
	if _, ok := NormalizeBackupCode(code); ok {
		return StepBackupCode
	}
	return StepCode
}

// outcomeOf maps what a sign-in step returned to its outcome.
func outcomeOf(err error) SignInOutcome {
	var throttled *ThrottledError
	var invalid *ValidationError
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, errCodeReplayed):
		return OutcomeReplayed
	case errors.Is(err, ErrInvalidCredentials), errors.Is(err, ErrInvalidCode), errors.As(err, &invalid):
		return OutcomeWrong
	case errors.As(err, &throttled):
		return OutcomeThrottled
	case errors.Is(err, ErrBusy):
		return OutcomeBusy
	case errors.Is(err, ErrAuthenticatorSuspended):
		return OutcomeSuspended
	case errors.Is(err, ErrPendingExpired), errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrSessionAlreadyAdvanced):
		return OutcomeExpired
	case errors.Is(err, ErrConflict), errors.Is(err, ErrStale):
		return OutcomeStale
	}
	return OutcomeError
}

// OutboxBacklog is what waits in the outbox on one channel, for metrics.
type OutboxBacklog struct {
	Channel Channel
	Queued  int       // not sent yet, and still to be tried
	GivenUp int       // not sent, and every attempt was used
	Oldest  time.Time // when the oldest still queued was written; zero when none
}
