// Package agent names the browser and operating system a User-Agent
// header claims, in words a person recognises on their list of remembered
// devices ("Firefox on Linux"). It is a label, never a security decision:
// the header is whatever the client chose to send.
package agent

import (
	"github.com/medama-io/go-useragent"
)

// Describe names the browser and operating system of a User-Agent header:
// "Chrome on macOS", "Firefox", "Unknown browser on Android", or "Unknown
// browser" when nothing is recognised.
func Describe(userAgent string) string {
	ua := useragent.NewParser().Parse(userAgent)
	name := string(ua.Browser())
	if name == "" {
		name = "Unknown browser"
	}
	if os := string(ua.OS()); os != "" {
		return name + " on " + spelled(os)
	}
	return name
}

// spelled writes a system's name the way its maker does.
func spelled(os string) string {
	if os == "MacOS" {
		return "macOS"
	}
	return os
}
