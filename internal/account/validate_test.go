package account_test

import (
	"testing"

	"github.com/twofold/twofold/internal/account"
)

func TestDisplayPhone(t *testing.T) {
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
