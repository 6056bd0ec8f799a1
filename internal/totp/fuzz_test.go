package totp

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// FuzzNormalizeCode checks code parsing against an independent reading of
// its rule (drop spaces, tabs, hyphens and dots; six ASCII digits must
// remain, nothing else may appear) and checks that Validate accepts exactly
// the inputs that normalise to one of the codes in the skew window.
func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{
		"123456", " 123 456 ", "123-456", "12.34.56", "\t123456\t",
		"12a456", "", "\xff\xfe", "1234567890", "12345", "１２３４５６",
		"123456\x00", "٣٤٥٦٧٨", "+123456", "123 45 6", "--------123456",
	} {
		f.Add(s)
	}
	secret := []byte("12345678901234567890")
	now := time.Unix(1111111111, 0)
	window := map[string]bool{}
	for s := Step(now) - 1; s <= Step(now)+1; s++ {
		window[HOTP(secret, s, Digits)] = true
	}
	for code := range window {
		f.Add(code[:3] + " " + code[3:])
	}

	f.Fuzz(func(t *testing.T, in string) {
		var digits []byte
		wantOK := true
		for i := 0; i < len(in); i++ {
			switch c := in[i]; {
			case c >= '0' && c <= '9':
				digits = append(digits, c)
			case c == ' ' || c == '\t' || c == '-' || c == '.':
			default:
				wantOK = false
			}
		}
		wantOK = wantOK && len(digits) == 6

		got, err := NormalizeCode(in)
		switch {
		case wantOK && (err != nil || got != string(digits)):
			t.Fatalf("NormalizeCode(%q) = %q, %v; want %q, nil", in, got, err, digits)
		case !wantOK && (err == nil || !errors.Is(err, ErrMalformedCode) || got != ""):
			t.Fatalf("NormalizeCode(%q) = %q, %v; want \"\", ErrMalformedCode", in, got, err)
		}

		step, ok := Validate(secret, in, now, 1, 0)
		if want := wantOK && window[got]; ok != want {
			t.Fatalf("Validate(%q) ok = %v; want %v", in, ok, want)
		}
		if ok && HOTP(secret, step, Digits) != got {
			t.Fatalf("Validate(%q) matched step %d whose code is %q", in, step, HOTP(secret, step, Digits))
		}
		// The step just matched is never accepted again (replay).
		if ok {
			if again, replayed := Validate(secret, in, now, 1, step); replayed && again <= step {
				t.Fatalf("Validate(%q, lastUsed=%d) matched step %d again", in, step, again)
			}
		}
	})
}

// FuzzURI builds otpauth URIs with hostile issuer and account names: the
// result always parses with net/url, its label splits at the first colon
// into exactly the issuer and the account, the issuer parameter equals the
// label's issuer (read as a form or as RFC 3986, so no + for a space), and
// the secret comes back byte for byte.
func FuzzURI(f *testing.F) {
	secret := []byte("12345678901234567890")
	for _, tt := range [][2]string{
		{"twofold", "ana@example.com"},
		{"Acme Clinic", "ana@example.com"},
		{"Bad:Issuer", "x@y.z"},
		{"::", "::"},
		{"100% ünïcode", "a/b?c#d@e.f"},
		{"%41%3A", "%3a%2F"},
		{"a+b&c=d", "e+f&issuer=evil"},
		{"twofold", "ana+2fa@example.com"},
		{"\x00\x1b[31m\n\r\t", "\x7f\u202e\u2028"},
		{"\xff\xfe", "\xc3"},
		{"", ""},
		{"twofold", ""},
		{" ", " : "},
		{"otpauth://totp/x?secret=A", "?secret=AAAA#"},
		{"名前", "名前@例え.jp"},
	} {
		f.Add(tt[0], tt[1], secret)
	}
	f.Add("twofold", "ana@example.com", []byte{})
	f.Add("twofold", "ana@example.com", []byte{0, 0xff, 1})

	f.Fuzz(func(t *testing.T, issuer, account string, secret []byte) {
		raw := URI(issuer, account, secret)
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("URI(%q, %q) = %q does not parse: %v", issuer, account, raw, err)
		}
		if u.Scheme != "otpauth" || u.Host != "totp" || u.User != nil || u.Opaque != "" || u.Fragment != "" {
			t.Fatalf("URI(%q, %q) = %q: scheme %q, host %q, user %v, opaque %q, fragment %q; want otpauth://totp/label?query",
				issuer, account, raw, u.Scheme, u.Host, u.User, u.Opaque, u.Fragment)
		}
		label, ok := strings.CutPrefix(u.Path, "/")
		if !ok {
			t.Fatalf("URI(%q, %q) = %q: path %q does not start with /", issuer, account, raw, u.Path)
		}
		labelIssuer, labelAccount, ok := strings.Cut(label, ":")
		if !ok {
			t.Fatalf("URI(%q, %q) = %q: label %q has no colon", issuer, account, raw, label)
		}
		if labelAccount != account {
			t.Errorf("URI(%q, %q) = %q: label account %q; want %q", issuer, account, raw, labelAccount, account)
		}
		// A colon in the issuer would move the split; URI documents that it
		// becomes a space.
		if wantIssuer := strings.ReplaceAll(issuer, ":", " "); labelIssuer != wantIssuer {
			t.Errorf("URI(%q, %q) = %q: label issuer %q; want %q", issuer, account, raw, labelIssuer, wantIssuer)
		}

		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			t.Fatalf("URI(%q, %q) = %q: query does not parse: %v", issuer, account, raw, err)
		}
		// Apps read the URI with RFC 3986 percent-decoding, where + is a
		// plus (Google and Microsoft Authenticator show "Acme+Clinic"), or
		// as a form, where it is a space: label and query must read the same
		// either way.
		for _, pair := range append(strings.Split(u.RawQuery, "&"), u.EscapedPath()) {
			form, err1 := url.QueryUnescape(pair)
			rfc, err2 := url.PathUnescape(pair)
			if err1 != nil || err2 != nil || form != rfc {
				t.Errorf("URI(%q, %q) = %q: %q reads as %q in a form but %q in RFC 3986", issuer, account, raw, pair, form, rfc)
			}
		}
		want := map[string]string{"issuer": labelIssuer, "algorithm": "SHA1", "digits": "6", "period": "30"}
		for k, v := range want {
			if got := q[k]; len(got) != 1 || got[0] != v {
				t.Errorf("URI(%q, %q) = %q: %s = %q; want [%q]", issuer, account, raw, k, got, v)
			}
		}
		if len(q) != len(want)+1 || len(q["secret"]) != 1 {
			t.Errorf("URI(%q, %q) = %q: query %v; want exactly secret, %v", issuer, account, raw, q, want)
		}
		back, err := DecodeSecret(q.Get("secret"))
		if err != nil || !bytes.Equal(back, secret) {
			t.Errorf("URI(%q, %q): secret %q decodes to %x, %v; want %x", issuer, account, q.Get("secret"), back, err, secret)
		}
		// As a person types it from the setup page: grouped, lower-case.
		typed := strings.ToLower(GroupSecret(secret))
		if back, err := DecodeSecret(typed); err != nil || !bytes.Equal(back, secret) {
			t.Errorf("DecodeSecret(%q) = %x, %v; want %x", typed, back, err, secret)
		}
	})
}

// FuzzDecodeSecret feeds arbitrary text to DecodeSecret: it never panics,
// and whatever it accepts encodes to a secret that decodes to the same
// bytes, so a secret typed by hand survives a round trip through the app.
func FuzzDecodeSecret(f *testing.F) {
	for _, s := range []string{
		"GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "gezd gnbv gy3t qojq gezd gnbv gy3t qojq",
		"GEZD-GNBV", "MZXW6===", "MZXW6", "M", "MZXW6YQ=", "1", "====", "", "\xff", "ÄÖÜ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		secret, err := DecodeSecret(s)
		if err != nil {
			if secret != nil {
				t.Fatalf("DecodeSecret(%q) = %x with error %v; want nil", s, secret, err)
			}
			return
		}
		enc := EncodeSecret(secret)
		if strings.ContainsAny(enc, "= ") || strings.ToUpper(enc) != enc {
			t.Fatalf("EncodeSecret(%x) = %q; want unpadded upper-case base32", secret, enc)
		}
		back, err := DecodeSecret(enc)
		if err != nil || !bytes.Equal(back, secret) {
			t.Fatalf("DecodeSecret(%q) = %x; its encoding %q decodes to %x, %v", s, secret, enc, back, err)
		}
	})
}
