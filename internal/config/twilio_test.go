package config

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "f00dfeedf00dfeedf00dfeedf00dfeed"
)

func TestTwilio(t *testing.T) {
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name    string
		env     map[string]string
		sends   bool
		wantErr []string // each must be in the error; nil for none
	}{
		{"none: texts wait in the outbox", nil, false, nil},
		{"a number", map[string]string{"TWOFOLD_TWILIO_ACCOUNT_SID": sid, "TWOFOLD_TWILIO_AUTH_TOKEN": token, "TWOFOLD_TWILIO_FROM": "+15005550006"}, true, nil},
		{"a messaging service, the token from a file", map[string]string{"TWOFOLD_TWILIO_ACCOUNT_SID": sid, "TWOFOLD_TWILIO_AUTH_TOKEN_FILE": tokenFile, "TWOFOLD_TWILIO_FROM": "MG0123456789abcdef0123456789abcdef"}, true, nil},
		{"a local test server", map[string]string{"TWOFOLD_TWILIO_ACCOUNT_SID": sid, "TWOFOLD_TWILIO_AUTH_TOKEN": token, "TWOFOLD_TWILIO_FROM": "+15005550006", "TWOFOLD_TWILIO_API_URL": "http://127.0.0.1:4010"}, true, nil},
		{"an SID without its token", map[string]string{"TWOFOLD_TWILIO_ACCOUNT_SID": sid, "TWOFOLD_TWILIO_FROM": "+15005550006"}, true, []string{"TWOFOLD_TWILIO_AUTH_TOKEN (or TWOFOLD_TWILIO_AUTH_TOKEN_FILE) is not set"}},
		{"a token alone", map[string]string{"TWOFOLD_TWILIO_AUTH_TOKEN": token}, false, []string{"TWOFOLD_TWILIO_ACCOUNT_SID is not set", "TWOFOLD_TWILIO_FROM is not set"}},
		{"a misshapen SID and sender", map[string]string{"TWOFOLD_TWILIO_ACCOUNT_SID": token, "TWOFOLD_TWILIO_AUTH_TOKEN": token, "TWOFOLD_TWILIO_FROM": "0400 123 456"}, true, []string{"twilio account SID: want AC and 32 hexadecimal digits", "twilio from: want a number in E.164"}},
		{"plain http to another host", map[string]string{"TWOFOLD_TWILIO_API_URL": "http://api.twilio.com"}, false, []string{"plain http only to a loopback address"}},
		{"an API URL with a password", map[string]string{"TWOFOLD_TWILIO_API_URL": "https://u:" + token + "@api.twilio.com"}, false, []string{"twilio API URL: want https://host[:port]"}},
		{"a missing token file", map[string]string{"TWOFOLD_TWILIO_ACCOUNT_SID": sid, "TWOFOLD_TWILIO_AUTH_TOKEN_FILE": filepath.Join(t.TempDir(), "nope"), "TWOFOLD_TWILIO_FROM": "+15005550006"}, true, []string{"TWOFOLD_TWILIO_AUTH_TOKEN_FILE"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load("serve", nil, env(tt.env), io.Discard)
			if tt.wantErr == nil {
				if err != nil || c.SendsText() != tt.sends {
					t.Fatalf("Load = SendsText %v, %v; want %v, nil", c.SendsText(), err, tt.sends)
				}
				if tt.sends && (c.TwilioAuthToken != token || c.TwilioAccountSID != sid) {
					t.Errorf("Load = SID %q, token %q; want %q, %q", c.TwilioAccountSID, c.TwilioAuthToken, sid, token)
				}
				if tt.env["TWOFOLD_TWILIO_API_URL"] == "" && c.TwilioAPIURL != "https://api.twilio.com" {
					t.Errorf("TwilioAPIURL = %q; want Twilio's by default", c.TwilioAPIURL)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded; want errors %q", tt.wantErr)
			}
			for _, want := range tt.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Load = %q; want it to say %q", err, want)
				}
			}
			if strings.Contains(err.Error(), token) {
				t.Errorf("Load = %q shows the auth token", err)
			}
		})
	}
}

// serve's help lists the Twilio variables; migrate's does not.
func TestTwilioInHelp(t *testing.T) {
	for name, want := range map[string]bool{"serve": true, "migrate": false} {
		var help bytes.Buffer
		Load(name, []string{"--help"}, env(nil), &help)
		for _, v := range []string{"TWOFOLD_TWILIO_ACCOUNT_SID", "TWOFOLD_TWILIO_AUTH_TOKEN", "TWOFOLD_TWILIO_AUTH_TOKEN_FILE", "TWOFOLD_TWILIO_FROM", "TWOFOLD_TWILIO_API_URL"} {
			if got := strings.Contains(help.String(), v); got != want {
				t.Errorf("%s --help lists %s: %v; want %v", name, v, got, want)
			}
		}
	}
}
