package account

import (
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/twofold/twofold/internal/password"
)

const (
	maxEmailLength = 254
	maxNameLength  = 100
	maxPhoneInput  = 40
)

// NormalizeEmail trims and lower-cases an address and checks it is a plain
// addr-spec (no display name) with a dot in the domain.
func NormalizeEmail(input string) (string, string) {
	email := strings.ToLower(strings.TrimSpace(input))
	if email == "" {
		return "", "Enter your email address."
	}
	// Checked on the input: ToLower has already turned bad bytes into U+FFFD.
	if len(email) > maxEmailLength || !utf8.ValidString(input) {
		return "", "Enter a valid email address, like name@example.com."
	}
	// net/mail accepts any non-ASCII character in an address, including
	// controls, spaces and invisible ones (U+200B, U+202E): an address that
	// looks like another, or rewrites the terminal or log it is shown in.
	for _, r := range email {
		if !unicode.IsGraphic(r) || unicode.IsSpace(r) {
			return "", "Enter a valid email address, like name@example.com."
		}
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Address != email || addr.Name != "" {
		return "", "Enter a valid email address, like name@example.com."
	}
	at := strings.LastIndexByte(email, '@')
	if domain := email[at+1:]; !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", "Enter a valid email address, like name@example.com."
	}
	return email, ""
}

// normalizeName trims a display name; it must be printable text.
func normalizeName(input string) (string, string) {
	name := strings.TrimSpace(input)
	switch {
	case name == "":
		return "", "Enter your name."
	case !utf8.ValidString(name):
		return "", "Your name contains characters that are not text."
	case utf8.RuneCountInString(name) > maxNameLength:
		return "", "Use at most 100 characters for your name."
	}
	// Controls, line and paragraph separators break the lines a name is
	// shown on (mails, logs, the CLI's table); bidirectional controls
	// (U+202E and friends) make it read as other text. Joiners (U+200C,
	// U+200D) stay: names in several scripts need them.
	for _, r := range name {
		if unicode.IsControl(r) || unicode.In(r, unicode.Zl, unicode.Zp, unicode.Bidi_Control) {
			return "", "Your name contains characters that are not text."
		}
	}
	return name, ""
}

// NormalizeMobilePhone parses a mobile number and returns it in E.164
// (+61412345678). region is used for numbers typed without a country code;
// with region "" a leading + is required. Empty input means "no number".
func NormalizeMobilePhone(input, region string) (string, string) {
	raw := strings.TrimSpace(input)
	if raw == "" {
		return "", ""
	}
	if len(raw) > maxPhoneInput || !utf8.ValidString(raw) {
		return "", "Enter a mobile number with its country code, like +61 412 345 678."
	}
	// phonenumbers reads letters as keypad digits and drops an extension
	// (x9, ext. 9, ,9, #9): either way the number kept is not the one typed.
	for _, r := range raw {
		if !unicode.IsDigit(r) && !unicode.IsSpace(r) && !unicode.Is(unicode.Pd, r) && !strings.ContainsRune("+.()/", r) {
			return "", "Use only digits, spaces and + - ( ) in the number, with no extension, like +61 412 345 678."
		}
	}
	if region == "" && !strings.HasPrefix(raw, "+") && !strings.HasPrefix(raw, "00") {
		return "", "Start the number with + and its country code, like +61 412 345 678."
	}
	if region == "" {
		region = "ZZ"
	}
	num, err := phonenumbers.Parse(raw, region)
	if err != nil || !phonenumbers.IsValidNumber(num) {
		return "", "This is not a valid phone number. Check the digits and the country code."
	}
	switch phonenumbers.GetNumberType(num) {
	case phonenumbers.MOBILE, phonenumbers.FIXED_LINE_OR_MOBILE, phonenumbers.PERSONAL_NUMBER:
	default:
		return "", "This looks like a landline or service number. Enter a mobile phone number."
	}
	return phonenumbers.Format(num, phonenumbers.E164), ""
}

// DisplayPhone writes a stored (E.164) number the way people read it, in
// international format: "+61412345678" becomes "+61 412 345 678". Anything
// it cannot read is returned as it is.
func DisplayPhone(e164 string) string {
	num, err := phonenumbers.Parse(e164, "ZZ")
	if err != nil {
		return e164
	}
	return phonenumbers.Format(num, phonenumbers.INTERNATIONAL)
}

func passwordProblem(pw string) string {
	switch password.CheckPolicy(pw) {
	case password.ErrTooShort:
		return "Use at least 8 characters for your password."
	case password.ErrTooLong:
		return "Use at most 128 characters for your password."
	}
	if !utf8.ValidString(pw) {
		return "Your password contains bytes that are not text."
	}
	return ""
}
