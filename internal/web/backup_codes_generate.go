package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/twofold/twofold/internal/httpauth"
)

// backupCodesData is the data of the page that shows new backup codes.
type backupCodesData struct {
	Codes    []string
	Email    string
	Issuer   string
	Date     string
	Text     string       // the codes as a text file, for Copy
	Download template.URL // the same as a data: URL, for Download (.txt)
}

// generateBackupCodes replaces every backup code with new ones and shows
// them in this response only: they are not stored in a form that can be
// shown again, so the page is not a redirect and is never cached.
func (h *handler) generateBackupCodes(w http.ResponseWriter, r *http.Request) {
	sess, p, ok := h.signedIn(w, r)
	if !ok {
		return
	}
	codes, err := h.svc.GenerateBackupCodes(r.Context(), sess, httpauth.Client(r))
	if err != nil {
		h.fail(w, r, err, recovery{back: "/me"})
		return
	}
	d := backupCodesData{
		Codes:  codes,
		Email:  p.User.Email,
		Issuer: h.issuer,
		Date:   h.svc.Now().UTC().Format("2 January 2006"),
	}
	d.Text = backupCodesText(d)
	// Percent-encoded by us, so the data: URL is safe to mark as a URL.
	d.Download = template.URL("data:text/plain;charset=utf-8," + url.PathEscape(d.Text))
	// Shown on this page, not carried over a redirect: the codes exist only
	// in this response.
	done := &flash{Kind: "success", Title: "Backup codes generated"}
	if p.BackupCodesRemaining > 0 {
		done.Title = "New backup codes generated — the old ones no longer work"
	}
	w.Header().Set("Cache-Control", "no-store")
	h.render(w, r, http.StatusOK, pageBackupCodes, &view{Title: "Your backup codes", User: p.User, Flash: done, Data: d})
}

func backupCodesText(d backupCodesData) string {
	var b strings.Builder
	b.WriteString(d.Issuer + " backup codes\n")
	b.WriteString("Account: " + d.Email + "\n")
	b.WriteString("Generated: " + d.Date + "\n\n")
	b.WriteString("Each code works once. Generating new codes replaces all of these.\n\n")
	for _, c := range d.Codes {
		b.WriteString(c + "\n")
	}
	return b.String()
}
