package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/twofold/twofold/internal/account"
)

const oidcUsage = "want a subcommand: client add --name NAME --redirect-uri URI [--post-logout-redirect-uri URI] [--public] [--require-two-factor] [--id-token-alg RS256|ES256], client list, client remove CLIENT_ID, client rotate-secret CLIENT_ID, or keys rotate"

// oidcCmd manages the OpenID provider: the apps registered with it and
// its signing keys.
func oidcCmd(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		return errors.New(oidcUsage)
	}
	operator := account.Client{IP: "cli"}
	switch args[0] + " " + args[1] {
	case "client add":
		rest, name, err := withValue(args[2:], "name")
		if err != nil {
			return err
		}
		rest, redirects, err := withValues(rest, "redirect-uri")
		if err != nil {
			return err
		}
		rest, logouts, err := withValues(rest, "post-logout-redirect-uri")
		if err != nil {
			return err
		}
		rest, alg, err := withValue(rest, "id-token-alg")
		if err != nil {
			return err
		}
		rest, public := withoutFlag(rest, "public")
		rest, require := withoutFlag(rest, "require-two-factor")
		a, positional, err := newApp(ctx, "oidc client add", useExisting, rest, getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		if len(positional) != 0 {
			return errors.New("usage: twofold oidc client add --name NAME --redirect-uri URI [--redirect-uri URI …] [--post-logout-redirect-uri URI …] [--public] [--require-two-factor] [--id-token-alg RS256|ES256]")
		}
		c, secret, err := a.service.RegisterOIDCClient(ctx, nil, account.OIDCClientInput{Name: name, RedirectURIs: redirects,
			PostLogoutRedirectURIs: logouts, Public: public, RequireTwoFactor: require, IDTokenAlgorithm: alg}, operator)
		var invalid *account.ValidationError
		if errors.As(err, &invalid) {
			return invalidFlags(invalid, map[string]string{"name": "--name", "redirect_uris": "--redirect-uri", "post_logout_redirect_uris": "--post-logout-redirect-uri", "id_token_signed_response_alg": "--id-token-alg"})
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "client_id: %s\n", c.ID)
		if secret != "" {
			fmt.Fprintf(stdout, "client_secret: %s\n", secret)
			fmt.Fprintln(stderr, "Keep the secret now: it is shown only this once (`twofold oidc client rotate-secret` makes a new one).")
		} else {
			fmt.Fprintln(stderr, "A public client has no secret: it must use PKCE (S256).")
		}
		if a.cfg.BaseURLReachable() {
			fmt.Fprintf(stderr, "issuer: %s (discovery at %s/.well-known/openid-configuration)\n", a.cfg.BaseURL, a.cfg.BaseURL)
		} else {
			fmt.Fprintln(stderr, "issuer: the server's base URL (TWOFOLD_BASE_URL); apps find the rest at <base URL>/.well-known/openid-configuration")
		}
		return nil
	case "client list":
		a, _, err := newApp(ctx, "oidc client list", useExisting, args[2:], getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		clients, err := a.service.OIDCClients(ctx, nil)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "CLIENT_ID\tNAME\tTYPE\t2FA\tID TOKEN\tREDIRECT URIS\tCREATED")
		for _, c := range clients {
			kind, twoFA := "confidential", "when asked"
			if c.Public {
				kind = "public"
			}
			if c.RequireTwoFactor {
				twoFA = "required"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", c.ID, c.Name, kind, twoFA, c.IDTokenAlgorithm, strings.Join(c.RedirectURIs, " "), c.CreatedAt.Format("2006-01-02"))
		}
		return tw.Flush()
	case "client remove", "client rotate-secret":
		a, positional, err := newApp(ctx, "oidc "+args[0]+" "+args[1], useExisting, args[2:], getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		if len(positional) != 1 {
			return fmt.Errorf("usage: twofold oidc client %s CLIENT_ID", args[1])
		}
		id := positional[0]
		if args[1] == "remove" {
			err = a.service.RemoveOIDCClient(ctx, nil, id, operator)
		} else {
			var secret string
			if secret, err = a.service.RotateOIDCClientSecret(ctx, nil, id, operator); err == nil {
				fmt.Fprintf(stdout, "client_secret: %s\n", secret)
				return nil
			}
		}
		if errors.Is(err, account.ErrOIDCClientNotFound) {
			return fmt.Errorf("no OpenID client %s (a public client has no secret to rotate); `twofold oidc client list` shows them", id)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "removed client %s: its tokens no longer work\n", id)
		return nil
	case "keys rotate":
		a, _, err := newApp(ctx, "oidc keys rotate", useExisting, args[2:], getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		if err := a.service.RotateSigningKeys(ctx, nil, operator); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "new signing keys in use (%s); the previous ones stay in the JWKS for %s so that the ID tokens they signed still verify\n",
			strings.Join(account.SigningAlgorithms, ", "),
			account.DescribeDuration(account.OIDCRetiredKeyTTL))
		return nil
	}
	return errors.New(oidcUsage)
}

// withValues removes every --name VALUE (or --name=VALUE) from args and
// returns the values in order.
func withValues(args []string, name string) ([]string, []string, error) {
	var rest, values []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-"+name || a == "--"+name:
			if i+1 >= len(args) {
				return nil, nil, fmt.Errorf("flag --%s needs a value", name)
			}
			values = append(values, args[i+1])
			i++
		case strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"="):
			values = append(values, a[strings.Index(a, "=")+1:])
		default:
			rest = append(rest, a)
		}
	}
	return rest, values, nil
}

// invalidFlags says which flag each problem is about.
func invalidFlags(invalid *account.ValidationError, flags map[string]string) error {
	var msgs []string
	for field, msg := range invalid.Fields {
		if f, ok := flags[field]; ok {
			field = f
		}
		msgs = append(msgs, field+": "+msg)
	}
	slices.Sort(msgs)
	return errors.New(strings.Join(msgs, "; "))
}
