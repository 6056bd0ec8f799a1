// Package config loads the service configuration from flags and TWOFOLD_*
// environment variables (flags win), with _FILE variants for secrets, and
// validates it, reporting every problem at once.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// Config is the whole configuration of a twofold process.
type Config struct {
	Addr            string // listen address
	Database        string // SQLite file path ("" = <data-dir>/twofold.db) or a postgres:// (postgresql://) URL
	DataDir         string
	BaseURL         string // how users reach the service; https turns on Secure cookies and HSTS
	SecretKey       string // base64 or hex 32 bytes; "" = key file in the data dir
	SMTPURL         string // smtp(s)://user:pass@host:port?from=addr; "" = notifications stay in the outbox
	Issuer          string // the name authenticator apps show
	PhoneRegion     string // ISO region for phone numbers typed without +country code
	TOTPSkew        int
	HashConcurrency int
	LogLevel        string
	LogFormat       string // text or json
	MetricsAddr     string // listen address of the metrics; "" = no metrics listener
	SignUp          string // SignUpInvite or SignUpOpen
	// RememberDeviceDays is how long "Remember this device" skips the
	// code step; 0 hides the checkbox.
	RememberDeviceDays int
	// databaseFromDataDir: Database is <data-dir>/twofold.db, a path
	// whatever the directory is called.
	databaseFromDataDir bool
	ShutdownTimeout     time.Duration
	// TrustedProxies are the load balancers or reverse proxies whose
	// X-Forwarded-For names the real client; without it every request
	// seems to come from the proxy, and per-IP throttles count everyone as one.
	TrustedProxies []netip.Prefix

	// Twilio sends text messages (SMS); without an account SID they stay
	// in the outbox.
	TwilioAccountSID string // AC + 32 hex digits
	TwilioAuthToken  string
	TwilioFrom       string // an E.164 number or a Messaging Service SID (MG…)
	TwilioAPIURL     string // Twilio's REST API; tests point it at a local server
	// AllowedRedirectHosts are host patterns (app.example.com,
	// *.example.com) a browser may be sent back to after signing in or
	// out (?rd=), besides twofold's own host and the protected apps'.
	AllowedRedirectHosts []string
	// CookieDomain, when set, is the Domain of the session cookie, so the
	// session reaches forward-auth checks for apps on sibling hosts.
	CookieDomain string
	// AuthzCacheMS, when above 0, lets a forward-auth check use what a
	// check of the same session read at most this many milliseconds ago
	// (at most 1000): a sign-out, deactivation, 2FA reset or rule change
	// on another instance then decides every check within that time
	// instead of at once. 0 (the default): every check reads the database.
	AuthzCacheMS int
}

// The sign-up modes.
const (
	SignUpInvite = "invite"
	SignUpOpen   = "open"
)

// Default returns the defaults: SQLite in ./data on 127.0.0.1:8080.
func Default() Config {
	return Config{
		Addr:               "127.0.0.1:8080",
		DataDir:            "data",
		Issuer:             "twofold",
		TOTPSkew:           1,
		RememberDeviceDays: 30,
		HashConcurrency:    runtime.NumCPU(),
		LogLevel:           "info",
		LogFormat:          "text",
		SignUp:             SignUpInvite,
		ShutdownTimeout:    20 * time.Second,
		TwilioAPIURL:       "https://api.twilio.com",
	}
}

// Flags a command takes, by group.
type flagGroup int

const (
	storageFlags flagGroup = 1 << iota // --database, --data-dir
	loggingFlags                       // --log-level, --log-format
	serveFlags                         // what only a running server uses
	linkFlags                          // --base-url, for commands that make links
)

// command says what one command takes: its usage line, its flag groups,
// and the environment variables it reads that have no flag.
type command struct {
	usage   string
	flags   flagGroup
	envOnly []string
}

var (
	keyEnv  = []string{"TWOFOLD_SECRET_KEY", "TWOFOLD_SECRET_KEY_FILE"}
	smtpEnv = []string{"TWOFOLD_SMTP_URL", "TWOFOLD_SMTP_URL_FILE"}
	// twilioEnv are the variables that configure text messages.
	twilioEnv = []string{"TWOFOLD_TWILIO_ACCOUNT_SID", "TWOFOLD_TWILIO_AUTH_TOKEN", "TWOFOLD_TWILIO_AUTH_TOKEN_FILE", "TWOFOLD_TWILIO_FROM", "TWOFOLD_TWILIO_API_URL"}
)

var commands = map[string]command{
	"serve":          {"twofold serve [flags]", storageFlags | loggingFlags | serveFlags | linkFlags, append(append(append([]string{}, keyEnv...), smtpEnv...), twilioEnv...)},
	"migrate":        {"twofold migrate [flags]", storageFlags | loggingFlags, nil},
	"user list":      {"twofold user list [flags]", storageFlags | loggingFlags, keyEnv},
	"user reset-2fa": {"twofold user reset-2fa EMAIL [--reason TEXT] [flags]", storageFlags | loggingFlags, keyEnv},
	// verify-phone queues the text that serve's outbox worker sends: it
	// reads the Twilio settings only to know whether texts go out.
	"user verify-phone": {"twofold user verify-phone EMAIL [flags]", storageFlags | loggingFlags, append(append([]string{}, keyEnv...), twilioEnv...)},
	"user invite":       {"twofold user invite EMAIL [--admin] [flags]", storageFlags | loggingFlags | linkFlags, keyEnv},
	"outbox list":       {"twofold outbox list [flags]", storageFlags | loggingFlags, nil},
	"outbox show":       {"twofold outbox show ID [flags]", storageFlags | loggingFlags, nil},
	"backup":            {"twofold backup FILE [flags]", storageFlags | loggingFlags, nil},
	"bench":             {"twofold bench [flags]", storageFlags | loggingFlags, keyEnv},
	// The OpenID commands print the issuer, the base URL.
	"oidc client add":           {"twofold oidc client add --name NAME --redirect-uri URI [--redirect-uri URI …] [--post-logout-redirect-uri URI …] [--public] [--require-two-factor] [--id-token-alg RS256|ES256] [flags]", storageFlags | loggingFlags | linkFlags, keyEnv},
	"oidc client list":          {"twofold oidc client list [flags]", storageFlags | loggingFlags, nil},
	"oidc client remove":        {"twofold oidc client remove CLIENT_ID [flags]", storageFlags | loggingFlags, nil},
	"oidc client rotate-secret": {"twofold oidc client rotate-secret CLIENT_ID [flags]", storageFlags | loggingFlags, keyEnv},
	"oidc keys rotate":          {"twofold oidc keys rotate [flags]", storageFlags | loggingFlags, keyEnv},
}

// envHelp explains the environment variables that have no flag.
var envHelp = map[string]string{
	"TWOFOLD_SECRET_KEY":      "the 32-byte server key, base64 or hex (default: the key file in --data-dir); never a flag, flags show in process listings",
	"TWOFOLD_SECRET_KEY_FILE": "a file holding TWOFOLD_SECRET_KEY",
	"TWOFOLD_SMTP_URL":        "smtp(s)://user:pass@host:port?from=addr to send mail (default: messages wait in the outbox)",
	"TWOFOLD_SMTP_URL_FILE":   "a file holding TWOFOLD_SMTP_URL",

	"TWOFOLD_TWILIO_ACCOUNT_SID":     "the Twilio account (AC…) that sends text messages (default: texts wait in the outbox); needs the auth token and TWOFOLD_TWILIO_FROM",
	"TWOFOLD_TWILIO_AUTH_TOKEN":      "the Twilio account's auth token",
	"TWOFOLD_TWILIO_AUTH_TOKEN_FILE": "a file holding TWOFOLD_TWILIO_AUTH_TOKEN",
	"TWOFOLD_TWILIO_FROM":            "the sender: a number of the account in E.164 (+15551234567) or a Messaging Service SID (MG…)",
	"TWOFOLD_TWILIO_API_URL":         "Twilio's REST API (default https://api.twilio.com); plain http only to a loopback address",
}

// Load reads flags from args over the environment over the defaults. name
// is the command ("serve", "user list", …): its help lists only the flags
// it takes, then the environment variables it reads that have no flag.
func Load(name string, args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	c := Default()
	cmd, ok := commands[name]
	if !ok {
		cmd = command{usage: "twofold " + name + " [flags]", flags: storageFlags | loggingFlags | serveFlags | linkFlags}
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: %s\n\nFlags (each also read from its environment variable; flags win):\n", cmd.usage)
		fs.PrintDefaults()
		if len(cmd.envOnly) > 0 {
			fmt.Fprintf(fs.Output(), "\nEnvironment variables without a flag:\n")
			for _, e := range cmd.envOnly {
				fmt.Fprintf(fs.Output(), "  %s\n    \t%s\n", e, envHelp[e])
			}
		}
	}
	// Every setting is read from the environment; only the command's own
	// become flags, so its help shows what it uses.
	str := func(group flagGroup, p *string, flagName, env, usage string) {
		if v := getenv(env); v != "" {
			*p = v
		}
		if cmd.flags&group != 0 {
			fs.StringVar(p, flagName, *p, usage+" (env "+env+")")
		}
	}
	var problems []error
	num := func(group flagGroup, p *int, flagName, env, usage string) {
		if v := getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				problems = append(problems, fmt.Errorf("%s=%q: not a whole number", env, v))
			}
			*p = n
		}
		if cmd.flags&group != 0 {
			fs.IntVar(p, flagName, *p, usage+" (env "+env+")")
		}
	}
	str(serveFlags, &c.Addr, "addr", "TWOFOLD_ADDR", "listen address")
	str(storageFlags, &c.Database, "database", "TWOFOLD_DATABASE", "a SQLite file path (default <data-dir>/twofold.db), or a PostgreSQL URL: postgres://user:pass@host:5432/db or postgresql://…")
	str(storageFlags, &c.DataDir, "data-dir", "TWOFOLD_DATA_DIR", "directory for the database and the key file")
	str(linkFlags, &c.BaseURL, "base-url", "TWOFOLD_BASE_URL", "public URL of the service (default http://<addr>)")
	str(serveFlags, &c.Issuer, "issuer", "TWOFOLD_ISSUER", "name shown in authenticator apps")
	str(serveFlags, &c.PhoneRegion, "phone-region", "TWOFOLD_PHONE_REGION", "region (e.g. AU) for phone numbers typed without a country code")
	num(serveFlags, &c.TOTPSkew, "totp-skew", "TWOFOLD_TOTP_SKEW", "30-second steps accepted before and after now")
	num(serveFlags, &c.RememberDeviceDays, "remember-device-days", "TWOFOLD_REMEMBER_DEVICE_DAYS", "days a device remembered at the code step skips it (0: never offered)")
	num(serveFlags, &c.HashConcurrency, "hash-concurrency", "TWOFOLD_HASH_CONCURRENCY", "password hashes run at once")
	var proxies string
	str(serveFlags, &proxies, "trusted-proxies", "TWOFOLD_TRUSTED_PROXIES", "comma-separated IPs or CIDR ranges of reverse proxies whose X-Forwarded-For is believed")
	var redirectHosts string
	str(serveFlags, &redirectHosts, "allowed-redirect-hosts", "TWOFOLD_ALLOWED_REDIRECT_HOSTS", "comma-separated hosts (app.example.com, *.example.com) a browser may return to after signing in or out, besides the protected apps' hosts")
	str(serveFlags, &c.CookieDomain, "cookie-domain", "TWOFOLD_COOKIE_DOMAIN", "domain of the session cookie, e.g. example.com to share the session with apps on its subdomains behind forward-auth (default: twofold's host only)")
	num(serveFlags, &c.AuthzCacheMS, "authz-cache-ms", "TWOFOLD_AUTHZ_CACHE_MS", "milliseconds (at most 1000) a forward-auth check may use what a check of the same session read; a change on another instance then takes up to that long to decide checks (default 0: every check reads the database)")
	str(serveFlags, &c.SignUp, "signup", "TWOFOLD_SIGNUP", "who may create an account: invite (administrators invite people) or open (anyone, with a confirmed email)")
	str(serveFlags, &c.MetricsAddr, "metrics-addr", "TWOFOLD_METRICS_ADDR", "listen address of the Prometheus metrics, e.g. 127.0.0.1:9464 (default: off); keep it off the public network")
	str(loggingFlags, &c.LogLevel, "log-level", "TWOFOLD_LOG_LEVEL", "debug, info, warn or error")
	str(loggingFlags, &c.LogFormat, "log-format", "TWOFOLD_LOG_FORMAT", "text or json")
	// The key is never a flag: flags show up in process listings.
	c.SecretKey = getenv("TWOFOLD_SECRET_KEY")
	if path := getenv("TWOFOLD_SECRET_KEY_FILE"); path != "" && c.SecretKey == "" {
		b, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Errorf("TWOFOLD_SECRET_KEY_FILE: %w", err))
		}
		c.SecretKey = strings.TrimSpace(string(b))
	}
	c.SMTPURL = getenv("TWOFOLD_SMTP_URL")
	if path := getenv("TWOFOLD_SMTP_URL_FILE"); path != "" && c.SMTPURL == "" {
		b, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Errorf("TWOFOLD_SMTP_URL_FILE: %w", err))
		}
		c.SMTPURL = strings.TrimSpace(string(b))
	}
	c.TwilioAccountSID = strings.TrimSpace(getenv("TWOFOLD_TWILIO_ACCOUNT_SID"))
	c.TwilioFrom = strings.TrimSpace(getenv("TWOFOLD_TWILIO_FROM"))
	if v := strings.TrimSpace(getenv("TWOFOLD_TWILIO_API_URL")); v != "" {
		c.TwilioAPIURL = v
	}
	c.TwilioAuthToken = getenv("TWOFOLD_TWILIO_AUTH_TOKEN")
	if path := getenv("TWOFOLD_TWILIO_AUTH_TOKEN_FILE"); path != "" && c.TwilioAuthToken == "" {
		b, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, fmt.Errorf("TWOFOLD_TWILIO_AUTH_TOKEN_FILE: %w", err))
		}
		c.TwilioAuthToken = strings.TrimSpace(string(b))
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	for _, p := range strings.Split(proxies, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, addrErr := netip.ParseAddr(p)
			if addrErr != nil {
				problems = append(problems, fmt.Errorf("trusted proxies: %q is neither an IP address nor a CIDR range", p))
				continue
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies = append(c.TrustedProxies, prefix.Masked())
	}
	c.CookieDomain = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(c.CookieDomain)), ".")
	for _, h := range strings.Split(redirectHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			c.AllowedRedirectHosts = append(c.AllowedRedirectHosts, h)
		}
	}
	if fs.NArg() > 0 {
		problems = append(problems, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	if c.Database == "" {
		c.Database = filepath.Join(c.DataDir, "twofold.db")
		c.databaseFromDataDir = true
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Addr
	}
	if err := c.Validate(); err != nil {
		problems = append(problems, err)
	}
	return c, errors.Join(problems...)
}

// Validate reports every problem with c at once.
func (c Config) Validate() error {
	var problems []error
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		problems = append(problems, fmt.Errorf("addr %q: want host:port", c.Addr))
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Errorf("base URL %q: want http(s)://host[:port]", c.BaseURL))
	}
	switch {
	case c.UsesPostgres():
		if _, err := url.Parse(c.Database); err != nil {
			problems = append(problems, errors.New("database: not a valid postgres:// URL"))
		}
	case !c.databaseFromDataDir && !plainPath(c.Database):
		// Not a plain file path: a mistyped URL ("postgress://…", "not a
		// url:/"), a SQLite "file:" URI or a key=value connection string,
		// which would otherwise be opened, and logged, as a SQLite file
		// name in the current directory, perhaps with a password in it.
		problems = append(problems, errors.New("database: want a SQLite file path or a postgres:// or postgresql:// URL (the value is not shown: it may hold a password)"))
	}
	if c.SignUp != SignUpInvite && c.SignUp != SignUpOpen {
		problems = append(problems, fmt.Errorf("signup %q: want invite or open", c.SignUp))
	}
	if c.MetricsAddr != "" {
		if _, port, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			problems = append(problems, fmt.Errorf("metrics addr %q: want host:port", c.MetricsAddr))
		} else if c.MetricsAddr == c.Addr && port != "0" {
			problems = append(problems, fmt.Errorf("metrics addr %q: must differ from the listen address; metrics are never served on the public port", c.MetricsAddr))
		}
	}
	problems = append(problems, c.validateForwardAuth()...)
	if strings.TrimSpace(c.Issuer) == "" {
		problems = append(problems, errors.New("issuer: must not be empty"))
	}
	if c.RememberDeviceDays < 0 || c.RememberDeviceDays > 365 {
		problems = append(problems, fmt.Errorf("remember device days %d: want 0 to 365", c.RememberDeviceDays))
	}
	if c.TOTPSkew < 0 || c.TOTPSkew > 3 {
		problems = append(problems, fmt.Errorf("totp skew %d: want 0 to 3", c.TOTPSkew))
	}
	if c.HashConcurrency < 1 {
		problems = append(problems, fmt.Errorf("hash concurrency %d: want at least 1", c.HashConcurrency))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		problems = append(problems, fmt.Errorf("log level %q: want debug, info, warn or error", c.LogLevel))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		problems = append(problems, fmt.Errorf("log format %q: want text or json", c.LogFormat))
	}
	problems = append(problems, c.validateTwilio()...)
	return errors.Join(problems...)
}

// UsesPostgres reports whether Database is a PostgreSQL URL rather than a
// SQLite file path.
func (c Config) UsesPostgres() bool {
	return strings.HasPrefix(c.Database, "postgres://") || strings.HasPrefix(c.Database, "postgresql://")
}

// DatabaseForDisplay is Database with any password removed, for logs.
func (c Config) DatabaseForDisplay() string {
	if !c.UsesPostgres() {
		return c.Database
	}
	u, err := url.Parse(c.Database)
	if err != nil {
		return "postgres://(unparseable)"
	}
	return u.Redacted()
}

// Secure reports whether the service is reached over https.
func (c Config) Secure() bool { return strings.HasPrefix(c.BaseURL, "https://") }

// BaseURLReachable reports whether BaseURL names an address a user's
// browser could open: not a wildcard listen address (0.0.0.0, ::) and not
// port 0. Sign-up links mailed to users point at BaseURL.
func (c Config) BaseURLReachable() bool {
	u, err := url.Parse(c.BaseURL)
	if err != nil {
		return false
	}
	host, port := u.Hostname(), u.Port()
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		return false
	}
	return port != "0"
}

// keyValue is the start of a key=value connection string ("host=db …").
var keyValue = regexp.MustCompile(`^\s*[A-Za-z_]+\s*=`)

// plainPath reports whether a --database value is a file path: not empty,
// no control characters, not "key=value …", and no ":" in its first
// element, where a URL's scheme or a "file:" URI would be. Directories
// further down may have a ":" or "=" (/srv/tf:prod/twofold.db).
func plainPath(p string) bool {
	if strings.TrimSpace(p) == "" || strings.ContainsFunc(p, unicode.IsControl) || keyValue.MatchString(p) ||
		strings.Contains(p, "://") || strings.Contains(p, "password=") {
		return false
	}
	first, _, _ := strings.Cut(p, "/")
	return !strings.Contains(first, ":")
}
