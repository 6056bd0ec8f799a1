package config

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"unicode"
)

var (
	twilioAccountSID = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	e164             = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	messagingService = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
)

// validateTwilio checks the text-message settings: all of them or none
// (without the account SID texts wait in the outbox). The token is never
// shown.
func (c Config) validateTwilio() []error {
	var problems []error
	if c.TwilioAccountSID != "" || c.TwilioAuthToken != "" || c.TwilioFrom != "" {
		for _, missing := range []struct {
			value, env string
		}{
			{c.TwilioAccountSID, "TWOFOLD_TWILIO_ACCOUNT_SID"},
			{c.TwilioAuthToken, "TWOFOLD_TWILIO_AUTH_TOKEN (or TWOFOLD_TWILIO_AUTH_TOKEN_FILE)"},
			{c.TwilioFrom, "TWOFOLD_TWILIO_FROM"},
		} {
			if missing.value == "" {
				problems = append(problems, fmt.Errorf("twilio: %s is not set; text messages need the account SID, the auth token and the sender, or none of them", missing.env))
			}
		}
	}
	if c.TwilioAccountSID != "" && !twilioAccountSID.MatchString(c.TwilioAccountSID) {
		problems = append(problems, errors.New("twilio account SID: want AC and 32 hexadecimal digits, as the Twilio console shows it (the value is not shown, in case it is the token)"))
	}
	if c.TwilioFrom != "" && !e164.MatchString(c.TwilioFrom) && !messagingService.MatchString(c.TwilioFrom) {
		problems = append(problems, errors.New("twilio from: want a number in E.164 (+15551234567) or a Messaging Service SID (MG and 32 hexadecimal digits); the value is not shown, in case it is the token"))
	}
	if c.TwilioAuthToken != "" && strings.ContainsFunc(c.TwilioAuthToken, unicode.IsSpace) {
		problems = append(problems, errors.New("twilio auth token: contains a space or a line break (the value is not shown)"))
	}
	u, err := url.Parse(c.TwilioAPIURL)
	switch {
	case err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "":
		// Not shown: a URL with user:password@ would show its password.
		problems = append(problems, errors.New("twilio API URL: want https://host[:port], with no user, query or fragment (the value is not shown)"))
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback(u.Hostname()):
	case u.Scheme == "http":
		problems = append(problems, fmt.Errorf("twilio API URL %q: plain http only to a loopback address; the auth token must not cross a network in clear", c.TwilioAPIURL))
	default:
		problems = append(problems, fmt.Errorf("twilio API URL %q: want https://host[:port]", c.TwilioAPIURL))
	}
	return problems
}

// loopback reports whether host is this machine: localhost or a loopback IP.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// SendsText reports whether text messages are sent (Twilio is configured).
func (c Config) SendsText() bool { return c.TwilioAccountSID != "" }
