package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"
)

func outbox(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return errors.New("want a subcommand: list")
	}
	a, _, err := newApp(ctx, "outbox list", args[1:], getenv, stderr)
	if err != nil {
		return err
	}
	defer a.Close()
	messages, err := a.store.Notifications(ctx, 100)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tQUEUED (UTC)\tTO\tSUBJECT\tSTATUS")
	for _, n := range messages {
		status := "sent " + n.SentAt.Format("2006-01-02 15:04")
		if n.SentAt.IsZero() {
			status = "queued"
			if n.LastError != "" {
				status = fmt.Sprintf("queued (%d attempts; last error: %s)", n.Attempts, n.LastError)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", n.ID, n.CreatedAt.Format("2006-01-02 15:04"), n.Recipient, n.Subject, status)
	}
	return tw.Flush()
}
