package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"

	"github.com/twofold/twofold/internal/account"
	"github.com/twofold/twofold/internal/config"
	"github.com/twofold/twofold/internal/notify"
)

func outbox(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "show" {
		return outboxShow(ctx, args[1:], getenv, stdout, stderr)
	}
	if len(args) == 0 || args[0] != "list" {
		return errors.New("want a subcommand: list, or show ID")
	}
	st, _, err := openOutbox(ctx, "outbox list", args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	messages, err := st.Notifications(ctx, 100)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tQUEUED (UTC)\tCHANNEL\tTO\tSUBJECT\tSTATUS")
	for _, n := range messages {
		status := "sent " + n.SentAt.Format(minute)
		if n.SentAt.IsZero() {
			status = unsent(n)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.CreatedAt.Format(minute), n.Channel, n.Recipient, n.Subject, status+linkUsed(n))
	}
	return tw.Flush()
}

// unsent is the status of a message not sent: queued, with its attempts
// and last error once it failed, or given up when no instance will try it
// again (every attempt used, or a failure no retry could cure).
func unsent(n *account.Notification) string {
	switch {
	case n.Attempts >= notify.MaxAttempts:
		return fmt.Sprintf("given up (last error: %s)", n.LastError)
	case n.LastError != "":
		return fmt.Sprintf("queued (%d attempts; last error: %s)", n.Attempts, n.LastError)
	}
	return "queued"
}

// minute is how the outbox commands write times (all UTC).
const minute = "2006-01-02 15:04"

// linkUsed is what the status of a sign-up link's message adds once the
// link finished its sign-up: an operator passing links on by hand sees
// which are done.
func linkUsed(n *account.Notification) string {
	if n.LinkUsedAt.IsZero() {
		return ""
	}
	return "; link used " + n.LinkUsedAt.UTC().Format(minute)
}

// outboxShow prints one message with its body: without SMTP, this is how an
// operator reads a sign-up link or a notice to pass it on.
func outboxShow(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	st, positional, err := openOutbox(ctx, "outbox show", args, getenv, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if len(positional) != 1 {
		return errors.New("want one message ID (from twofold outbox list)")
	}
	id, err := strconv.ParseInt(positional[0], 10, 64)
	if err != nil {
		return fmt.Errorf("message ID %q: want a number from twofold outbox list", positional[0])
	}
	n, err := st.Notification(ctx, id)
	if errors.Is(err, account.ErrNotFound) {
		return fmt.Errorf("no message %d in the outbox", id)
	}
	if err != nil {
		return err
	}
	status := unsent(n)
	if !n.SentAt.IsZero() {
		status = "sent " + n.SentAt.Format(minute) + " UTC"
	}
	if used := linkUsed(n); used != "" {
		status += used + " UTC"
	}
	subject, body := "Subject: "+n.Subject+"\n", n.Body
	if n.Channel == account.ChannelSMS {
		// A text has no subject, and its body is blanked once sent.
		subject = ""
		if body == "" && !n.SentAt.IsZero() {
			body = "(the text was removed from the outbox when it was sent)\n"
		}
	}
	_, err = fmt.Fprintf(stdout, "To: %s\nChannel: %s\n%sQueued: %s UTC\nStatus: %s\n\n%s", n.Recipient, n.Channel, subject, n.CreatedAt.Format(minute), status, body)
	return err
}

// openOutbox opens only the database: reading the outbox needs no key (so
// none is created in a mistyped --data-dir) and no account service.
func openOutbox(ctx context.Context, name string, args []string, getenv func(string) string, stderr io.Writer) (store, []string, error) {
	positional, args := splitPositional(args)
	cfg, err := config.Load(name, args, getenv, stderr)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg, useExisting)
	return st, positional, err
}
