package account_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/accounttest"
)

func TestDisplayPhone(t *testing.T) {
	t.Parallel()
	for stored, want := range map[string]string{
		"+61412345678":  "+61 412 345 678",
		"+447911123456": "+44 7911 123456",
		"+14155552671":  "+1 415-555-2671",
		"":              "",
		"not a number":  "not a number",
	} {
		if got := account.DisplayPhone(stored); got != want {
			t.Errorf("DisplayPhone(%q) = %q; want %q", stored, got, want)
		}
	}
}

// Names in scripts that need joiners (ZWNJ in Persian, ZWJ in emoji) are
// accepted: only controls, separators and bidirectional controls are not.
func TestNamesKeepJoiners(t *testing.T) {
	t.Parallel()
	env := accounttest.New(t)
	for i, name := range []string{"Mohammad\u200cReza", "Zoë 👩\u200d⚕️", "Ana María"} {
		in := account.SignUpInput{Email: fmt.Sprintf("n%d@example.com", i), Password: "correct horse battery staple", Name: name}
		if err := env.Service.StartSignUp(context.Background(), in, account.Client{IP: "192.0.2.1"}); err != nil {
			t.Errorf("StartSignUp(name %q) = %v; want accepted", name, err)
		}
	}
}
