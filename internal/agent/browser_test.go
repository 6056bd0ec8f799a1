package agent

import "testing"

func TestDescribe(t *testing.T) {
	tests := []struct {
		userAgent, want string
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Windows"},
		{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iOS"},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on macOS"},
		{"curl/8.5.0", "Unknown browser"},
		{"", "Unknown browser"},
	}
	for _, tt := range tests {
		if got := Describe(tt.userAgent); got != tt.want {
			t.Errorf("Describe(%q) = %q; want %q", tt.userAgent, got, tt.want)
		}
	}
}
