package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/twofold/twofold/internal/account"
)

func user(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return errors.New("want a subcommand: list or reset-2fa EMAIL")
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
		a, positional, err := newApp(ctx, "user reset-2fa", useExisting, args[1:], getenv, stderr)
		if err != nil {
			return err
		}
		defer a.Close()
		if len(positional) != 1 {
			return errors.New("usage: twofold user reset-2fa EMAIL")
		}
		if err := a.service.ResetTwoFactor(ctx, positional[0], "operator (CLI)"); err != nil {
			if errors.Is(err, account.ErrNotFound) {
				return fmt.Errorf("no account with email %s", positional[0])
			}
			return err
		}
		fmt.Fprintf(stdout, "2 factor authentication is now off for %s; their sessions were ended. They can sign in with their password and enable it again.\n", positional[0])
		return nil
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
	return fmt.Errorf("unknown user subcommand %q: want list, invite EMAIL [--admin] or reset-2fa EMAIL", args[0])
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
