package account

import (
	"fmt"
	"time"

	"github.com/twofold/twofold/internal/totp"
)

// driftWindow is how far from now, in 30-second steps, a refused code is
// looked for to tell the person their phone's clock is off: 10 minutes
// either way.
const driftWindow = 20

// ClockDriftError is a wrong code that would have been right Offset ago
// (Offset is negative: the phone's clock is behind), beyond the steps the
// server accepts, at a step other than the one used last (that is a
// replay). It is still a wrong code, counted as one: errors.Is(err,
// ErrInvalidCode) holds. Only the advice differs.
//
// Only codes of past steps are told apart. A code of a future step is a
// plain wrong code: saying when it will be right would turn a guess into a
// sign-in minutes later, multiplying what each guess is worth.
type ClockDriftError struct {
	Offset time.Duration // a multiple of 30 seconds
}

func (e *ClockDriftError) Error() string {
	return fmt.Sprintf("%v (right for a clock %v off)", ErrInvalidCode, e.Offset)
}

func (e *ClockDriftError) Unwrap() error { return ErrInvalidCode }

// Advice says what happened and what to do, for the person at the code step.
func (e *ClockDriftError) Advice() string {
	minutes := int((e.Offset.Abs() + 30*time.Second) / time.Minute)
	about := "about a minute"
	if minutes > 1 {
		about = fmt.Sprintf("about %d minutes", minutes)
	}
	return "This code was right " + about + " ago: your phone's clock is behind. Set it to automatic date and time, then type the next code."
}

// clockDrift returns the ClockDriftError of a refused code that matches a
// step within driftWindow of now, other than the step used last and beyond
// the accepted skew; nil when it matches none (a plain wrong code).
func (s *Service) clockDrift(secret []byte, code string, lastUsed int64) error {
	steps, ok := totp.Drift(secret, code, s.now(), driftWindow, lastUsed)
	if !ok || steps >= -s.policy.TOTPSkew {
		return nil // no match, within the skew, or of a future step
	}
	return &ClockDriftError{Offset: time.Duration(steps) * totp.Period}
}
