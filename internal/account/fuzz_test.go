package account_test

import (
	"net/mail"
	"regexp"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/totp"
)

// crockford is the backup-code alphabet, written out here rather than taken
// from the package so that a change to it is noticed.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// FuzzNormalizeBackupCode: an accepted code is 10 characters of Crockford's
// base32 and normalises to itself; case, spaces and hyphens never change the
// result; for ASCII input the result is exactly what the documented rule
// gives; and no input reads both as a TOTP code and as a backup code.
func FuzzNormalizeBackupCode(f *testing.F) {
	for _, s := range []string{
		"abcde-12345", "ABCDE 12345", " abcde-1234o ", "abcdl-12345", "OIL00-iil11",
		"abcde-1234", "abcde-1234u", "abcde-1234é", "123456", "", "----------",
		"abcde\t12345", "abcde_12345", "abcde-12345-", "abcde-123456", "\u212aabcd-12345",
		"\xff\xfeabcd-12345", "abcde\x0012345",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, ok := account.NormalizeBackupCode(in)
		if !ok {
			if got != "" {
				t.Fatalf("NormalizeBackupCode(%q) = %q, false; want \"\" with false", in, got)
			}
		} else {
			if len(got) != 10 || strings.Trim(got, crockford) != "" {
				t.Fatalf("NormalizeBackupCode(%q) = %q; want 10 characters of %q", in, got, crockford)
			}
			if again, ok := account.NormalizeBackupCode(got); !ok || again != got {
				t.Fatalf("NormalizeBackupCode(%q) = %q, %v; want it unchanged", got, again, ok)
			}
			if _, err := totp.NormalizeCode(in); err == nil {
				t.Fatalf("%q is both a TOTP code and a backup code", in)
			}
		}

		if !isASCII(in) {
			return
		}
		// The rule as documented: case, spaces, tabs and hyphens are
		// ignored; o reads as 0, i and l as 1.
		var want strings.Builder
		wantOK := true
		for _, c := range strings.ToLower(in) {
			switch {
			case c == ' ' || c == '-' || c == '\t':
				continue
			case c == 'o':
				c = '0'
			case c == 'i' || c == 'l':
				c = '1'
			}
			if !strings.ContainsRune(crockford, c) {
				wantOK = false
			}
			want.WriteRune(c)
		}
		wantOK = wantOK && want.Len() == 10
		if ok != wantOK || (ok && got != want.String()) {
			t.Fatalf("NormalizeBackupCode(%q) = %q, %v; want %q, %v", in, got, ok, want.String(), wantOK)
		}
		for _, variant := range []string{strings.ToUpper(in), " " + in + "\t", strings.Join(strings.Split(in, ""), "-")} {
			if g, o := account.NormalizeBackupCode(variant); g != got || o != ok {
				t.Fatalf("NormalizeBackupCode(%q) = %q, %v; but NormalizeBackupCode(%q) = %q, %v", variant, g, o, in, got, ok)
			}
		}
	})
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{1,14}$`)

// phoneRegions are values an operator may configure as the default region
// ("" requires a +country code).
var phoneRegions = []string{"", "AU", "US", "GB", "DE", "IN", "BR", "NZ", "ZZ"}

// FuzzNormalizeMobilePhone: never panics; an accepted number is E.164, ends
// in the last digits typed (no extension dropped, no letter read as a
// digit), and normalising it again (with or without a default region)
// returns it unchanged; anything typed is either accepted or refused with a
// sentence, never silently dropped.
func FuzzNormalizeMobilePhone(f *testing.F) {
	for _, s := range []string{
		"+61 412 345 678", "0412 345 678", "+61412345678", "0061 412 345 678", "+1 (415) 555-2671",
		"+44 7911 123456", "07911 123456", "+49 1512 3456789", "+91 98765 43210", "+64 21 123 4567",
		"+61 2 9876 5432", "1-800-FLOWERS", "+61 412 345 678 ext. 9", "tel:+61-412-345-678",
		"+", "++61412345678", "+0", "00", "+99999999999999999999", "", "   ", "\x00", "\xff+61",
		"+61\u00a0412\u00a0345\u00a0678", "+٦١٤١٢٣٤٥٦٧٨", "+６１４１２３４５６７８", "+61 412 345 678;phone-context=x",
		"+61 412 345 678 x9", "+61 412 345 678,9", "+61 412 345 678 ~9", "+1 415 555 CALL", "+61 (0) 412 345 678",
		"+61.412.345.678", "+61/412/345/678", "+61 412–345–678", "+67280000",
	} {
		for i := range uint8(3) {
			f.Add(s, i)
		}
	}
	f.Fuzz(func(t *testing.T, in string, regionIndex uint8) {
		region := phoneRegions[int(regionIndex)%len(phoneRegions)]
		got, msg := account.NormalizeMobilePhone(in, region)
		switch {
		case strings.TrimSpace(in) == "":
			if got != "" || msg != "" {
				t.Fatalf("NormalizeMobilePhone(%q, %q) = %q, %q; want no number and no message", in, region, got, msg)
			}
			return
		case msg != "":
			if got != "" || !strings.HasSuffix(msg, ".") {
				t.Fatalf("NormalizeMobilePhone(%q, %q) = %q, %q; want \"\" and a sentence", in, region, got, msg)
			}
			return
		case got == "":
			t.Fatalf("NormalizeMobilePhone(%q, %q) dropped the number without a message", in, region)
		}
		if !e164.MatchString(got) {
			t.Fatalf("NormalizeMobilePhone(%q, %q) = %q; want E.164", in, region, got)
		}
		// My info shows the number in display form in its field: saved
		// again unchanged, it must be the same number.
		if again, msg := account.NormalizeMobilePhone(account.DisplayPhone(got), ""); again != got {
			t.Fatalf("DisplayPhone(%q) = %q, which saves as %q, %q; want the same number", got, account.DisplayPhone(got), again, msg)
		}
		// The number ends where the person stopped typing: nothing typed
		// after it (an extension) is dropped, and no letter is read as a
		// keypad digit.
		typed := typedDigits(in)
		if n := min(4, len(typed), len(got)-1); typed[len(typed)-n:] != got[len(got)-n:] {
			t.Fatalf("NormalizeMobilePhone(%q, %q) = %q; want it to end in the last digits typed, %q", in, region, got, typed[len(typed)-n:])
		}
		for _, r := range []string{"", region} {
			if again, msg := account.NormalizeMobilePhone(got, r); again != got || msg != "" {
				t.Fatalf("NormalizeMobilePhone(%q, %q) = %q (from %q) but NormalizeMobilePhone(%q, %q) = %q, %q",
					in, region, got, in, got, r, again, msg)
			}
		}
	})
}

// FuzzNormalizeEmail: never panics; input that is not UTF-8 is refused; an
// accepted address is trimmed, lower-case, at most 254 bytes, a plain
// addr-spec with a dotted domain, free of invisible characters, and is
// accepted again unchanged; for ASCII addresses case and surrounding space
// do not matter.
func FuzzNormalizeEmail(f *testing.F) {
	for _, s := range []string{
		"ana@example.com", " Ana@Example.COM\t", "ana", "ana@", "@example.com", "ana@example",
		"ana@.example.com", "ana@example.com.", "Ana <ana@example.com>", `"ana lima"@example.com`,
		"ana@@example.com", "ana@exa mple.com", "ana.lima+tag@sub.example.co.uk", "ana@[192.0.2.1]",
		"ana@example.com\x00", "\xffana@example.com", "ana\u00a0lima@example.com", "ana\u0085@example.com",
		"ana\u202e@example.com", "ana\u200b@example.com", "ännä@exämple.com", "ANA@EXAMPLE.COM",
		"\u212aana@example.com", "ana@example.com (comment)", "a@b.c", strings.Repeat("a", 243) + "@example.com",
		"=?utf-8?q?ana?=@example.com", "ana@example.com, bob@example.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, msg := account.NormalizeEmail(in)
		if (got == "") == (msg == "") {
			t.Fatalf("NormalizeEmail(%q) = %q, %q; want exactly one of an address and a message", in, got, msg)
		}
		if got == "" {
			return
		}
		// Bytes that are not UTF-8 are refused, not replaced: two different
		// inputs must not become the same address.
		if !utf8.ValidString(in) {
			t.Fatalf("NormalizeEmail(%q) = %q; want invalid UTF-8 refused", in, got)
		}
		if got != strings.TrimSpace(got) || got != strings.ToLower(got) || !utf8.ValidString(got) || len(got) > 254 {
			t.Fatalf("NormalizeEmail(%q) = %q; want trimmed, lower-case UTF-8 of at most 254 bytes", in, got)
		}
		for _, r := range got {
			if !unicode.IsGraphic(r) || unicode.IsSpace(r) {
				t.Fatalf("NormalizeEmail(%q) = %q, which holds the invisible character %U", in, got, r)
			}
		}
		addr, err := mail.ParseAddress(got)
		if err != nil || addr.Address != got || addr.Name != "" {
			t.Fatalf("NormalizeEmail(%q) = %q, which net/mail reads as %v, %v", in, got, addr, err)
		}
		domain := got[strings.LastIndexByte(got, '@')+1:]
		if !strings.Contains(strings.Trim(domain, "."), ".") || strings.Trim(domain, ".") != domain {
			t.Fatalf("NormalizeEmail(%q) = %q; want a domain with an inner dot", in, got)
		}
		if again, msg := account.NormalizeEmail(got); again != got || msg != "" {
			t.Fatalf("NormalizeEmail(%q) = %q, %q; want it unchanged", got, again, msg)
		}
		if isASCII(got) {
			variant := " " + strings.ToUpper(got) + "\n"
			if again, msg := account.NormalizeEmail(variant); again != got || msg != "" {
				t.Fatalf("NormalizeEmail(%q) = %q, %q; want %q", variant, again, msg, got)
			}
		}
	})
}

// typedDigits returns the decimal digits of s, of any script, as ASCII.
func typedDigits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if !unicode.IsDigit(r) {
			continue
		}
		// Unicode decimal digits come in runs that start at a zero.
		zero := r
		for unicode.IsDigit(zero - 1) {
			zero--
		}
		b.WriteByte(byte('0' + (r-zero)%10))
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
