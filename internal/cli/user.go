package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/twofold/twofold/internal/account"
)

func user(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: list, invite EMAIL [--admin], verify-phone EMAIL or reset-2fa EMAIL [--reason TEXT]")
	}
	switch args[0] {
	case "list":
		a, _, err := newApp(ctx, "user list", useExisting, args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		users, err := a.service.ListUsers(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tROLE\tMOBILE\t2FA\tCREATED")
		for _, u := range users {
			twoFA := "off"
			if u.TwoFactorEnabled() {
				twoFA = "on"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, u.Role, u.MobilePhone, twoFA, u.CreatedAt.Format("2006-01-02"))
		}
		return tw.Flush()
	case "reset-2fa":
		rest, reason, err := withValue(args[1:], "reason")
		if err != nil {
			return err
		}
		a, positional, err := newApp(ctx, "user reset-2fa", useExisting, rest, getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		if len(positional) != 1 {
			return errors.New("usage: twofold user reset-2fa EMAIL [--reason TEXT]")
		}
		err = a.service.ResetTwoFactor(ctx, positional[0], reason)
		var invalid *account.ValidationError
		switch {
		case errors.Is(err, account.ErrNotFound):
			return fmt.Errorf("no account with email %s", positional[0])
		case errors.Is(err, account.ErrPhoneNotVerified):
			return fmt.Errorf("check that it is them first: run `twofold user verify-phone %s` (a code texted to their number, read back to you), then reset within %d minutes; or, if that cannot be done, pass --reason with how you checked", positional[0], int(account.PhoneVerifiedFor/time.Minute))
		case errors.Is(err, account.ErrTwoFactorNotEnabled):
			return fmt.Errorf("2 factor authentication is already off for %s", positional[0])
		case errors.As(err, &invalid):
			return errors.New(invalid.Fields["reason"])
		case err != nil:
			return err
		}
		fmt.Fprintf(stdout, "2 factor authentication is now off for %s; their sessions were ended and their remembered devices forgotten. They can sign in with their password and enable it again.\n", positional[0])
		return nil
	case "verify-phone":
		a, positional, err := newApp(ctx, "user verify-phone", useExisting, args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		if len(positional) != 1 {
			return errors.New("usage: twofold user verify-phone EMAIL")
		}
		return verifyPhone(ctx, a.service, positional[0], stdin, stdout)
	case "invite":
		rest, admin := withoutFlag(args[1:], "admin")
		a, positional, err := newApp(ctx, "user invite", useExisting, rest, getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		if len(positional) != 1 {
			return errors.New("usage: twofold user invite EMAIL [--admin]")
		}
		role := account.RoleMember
		if admin {
			role = account.RoleAdmin
		}
		inv, link, err := a.service.Invite(ctx, nil, account.InviteInput{Email: positional[0], Role: role}, account.Client{IP: "cli"})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Invited %s as %s; the link works once, until %s UTC:\n%s\n", inv.Email, inv.Role, inv.ExpiresAt.Format("2006-01-02 15:04"), link)
		if a.cfg.SMTPURL == "" {
			fmt.Fprintln(stdout, "No TWOFOLD_SMTP_URL: the invitation waits in the outbox (twofold outbox list); pass the link on yourself.")
		}
		return nil
	}
	return fmt.Errorf("unknown user subcommand %q: want list, invite EMAIL [--admin], verify-phone EMAIL or reset-2fa EMAIL [--reason TEXT]", args[0])
}

// verifyPhone texts a code to the account's mobile number and asks the
// operator, line by line, for the code the person reads back, until it is
// right, spent, or the input ends.
func verifyPhone(ctx context.Context, svc *account.Service, email string, stdin io.Reader, stdout io.Writer) error {
	v, err := svc.SendPhoneVerificationByOperator(ctx, email)
	var throttled *account.ThrottledError
	switch {
	case errors.Is(err, account.ErrNotFound):
		return fmt.Errorf("no account with email %s", email)
	case errors.Is(err, account.ErrNoMobilePhone):
		return fmt.Errorf("%s has no mobile phone number on file: check who they are another way, then `twofold user reset-2fa %s --reason TEXT`", email, email)
	case errors.Is(err, account.ErrTextsUnavailable):
		return fmt.Errorf("text messages are not set up on this server (TWOFOLD_TWILIO_ACCOUNT_SID, TWOFOLD_TWILIO_AUTH_TOKEN, TWOFOLD_TWILIO_FROM): check who they are another way, then `twofold user reset-2fa %s --reason TEXT`", email)
	case errors.As(err, &throttled):
		return fmt.Errorf("too many texts were sent to %s in the last hour; try again in %s", email, throttled.RetryAfter.Round(time.Second))
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "Texted a 6-digit code to %s, the number on file; it works for %d minutes.\nAsk the person to read it to you.\n", account.DisplayPhone(v.Phone), int(account.PhoneCodeTTL/time.Minute))
	lines := bufio.NewScanner(stdin)
	for {
		fmt.Fprint(stdout, "Code they read back: ")
		if !lines.Scan() {
			fmt.Fprintln(stdout)
			return errors.New("no code entered: the phone is not verified")
		}
		err := svc.CheckPhoneVerificationByOperator(ctx, email, lines.Text())
		var invalid *account.ValidationError
		switch {
		case err == nil:
			fmt.Fprintf(stdout, "Verified: they hold the phone. Run `twofold user reset-2fa %s` within %d minutes.\n", email, int(account.PhoneVerifiedFor/time.Minute))
			return nil
		case errors.Is(err, account.ErrPhoneCodeSpent):
			return errors.New("the code expired or was tried too often: run verify-phone again to text a new one")
		case errors.Is(err, account.ErrInvalidCode):
			fmt.Fprintln(stdout, "That is not the code that was texted. Check it with them and type it again.")
		case errors.As(err, &invalid):
			fmt.Fprintln(stdout, invalid.Fields["code"])
		default:
			return err
		}
	}
}

// withValue removes a flag with a value (--name VALUE, --name=VALUE, or
// with one dash) from args and returns its value.
func withValue(args []string, name string) ([]string, string, error) {
	var rest []string
	value := ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-"+name || a == "--"+name:
			if i+1 >= len(args) {
				return nil, "", fmt.Errorf("flag --%s needs a value", name)
			}
			value = args[i+1]
			i++
		case strings.HasPrefix(a, "-"+name+"=") || strings.HasPrefix(a, "--"+name+"="):
			value = a[strings.Index(a, "=")+1:]
		default:
			rest = append(rest, a)
		}
	}
	return rest, value, nil
}

// withoutFlag removes a boolean flag (-name or --name) from args and
// reports whether it was there.
func withoutFlag(args []string, name string) ([]string, bool) {
	var rest []string
	found := false
	for _, a := range args {
		if a == "-"+name || a == "--"+name {
			found = true
			continue
		}
		rest = append(rest, a)
	}
	return rest, found
}
